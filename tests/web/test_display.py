"""Formatting and translation helpers of the issue page, without a server."""

from __future__ import annotations

from functools import partial

import pytest

from service.grouping import compute_grouping
from service.schema import crash_report_pb2 as pb
from web.event_display import breadcrumbs, context_sections, mechanism_rows
from web.formatting import format_bytes, format_datetime, format_hex, frame_location, short_release
from web.grouping_text import translate_reason
from web.translations import gettext

english = partial(gettext, "en")
japanese = partial(gettext, "ja")


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("kept: exception type", "例外の型"),
        ("skipped: beyond the first 5 in-app frames", "先頭 5 個のアプリ内フレームより後"),
        ("kept: in-app frame; removed closure index, return type", "アプリ内フレーム。除去: クロージャ番号、戻り値の型"),
        ("kept: SDK fingerprint variable {{ type }}", "SDK フィンガープリントの変数 {{ type }}"),
        ("skipped: a reason this table does not know", "a reason this table does not know"),
        ("kept: in-app frame; removed a new kind of suffix", "アプリ内フレーム。除去: a new kind of suffix"),
    ],
)
def test_grouping_reason_in_japanese(reason: str, expected: str) -> None:
    assert translate_reason(reason, japanese) == expected


def test_grouping_reason_in_english_drops_prefix() -> None:
    assert translate_reason("skipped: line number ignored", english) == "line number ignored"
    assert translate_reason("kept: in-app frame; removed closure index", english) == "in-app frame; removed closure index"


def _frame(function: str, in_app: bool, lineno: int = 0) -> pb.Frame:
    frame = pb.Frame(function=function, lineno=lineno, instruction_addr=0x1000, package="/var/containers/App.app/App" if in_app else "/usr/lib/libc.dylib")
    frame.in_app = in_app
    return frame


def test_every_reason_of_a_real_grouping_is_translated() -> None:
    report = pb.CrashReport(platform=pb.PLATFORM_APPLE)
    report.exceptions.add(type="EXC_BAD_ACCESS", value="KERN_INVALID_ADDRESS at 0x10")
    thread = report.threads.add(id=0, crashed=True)
    thread.frames.append(_frame("objc_msgSend", in_app=False))
    thread.frames.extend(_frame(f"closure #{index} in App.Screen.step{index}() -> ()", in_app=True, lineno=10 + index) for index in range(7))
    thread.frames.append(pb.Frame(function="start", instruction_addr=0x2000))
    parts = compute_grouping(report).parts
    assert parts
    for part in parts:
        translated = translate_reason(part.reason, japanese)
        assert not any(character.isascii() and character.isalpha() for character in translated.replace("ID", "").replace("SDK", "")), part.reason


def test_mechanism_rows_name_signal_and_mach_exception() -> None:
    mechanism = {
        "type": "mach",
        "handled": False,
        "signal": {"number": 11, "name": "SIGSEGV", "code_name": "SEGV_MAPERR"},
        "mach_exception": {"exception": "1", "name": "EXC_BAD_ACCESS", "code": "1", "subcode": "16"},
        "fault_address": "16",
    }
    rows = dict(mechanism_rows(mechanism, english))
    assert rows["Mechanism"] == "mach"
    assert rows["Handled"] == "no"
    assert rows["Signal"] == "SIGSEGV (11), SEGV_MAPERR"
    assert rows["Mach exception"] == "EXC_BAD_ACCESS (1), code 0x1, subcode 0x10"
    assert rows["Fault address"] == "0x10"
    assert mechanism_rows(None, english) == []


def test_context_sections_skip_empty_values() -> None:
    event = {"app": {}, "device": {"model": "Pixel 6a", "memory_size": "6442450944", "archs": ["arm64-v8a"]}, "os": {"name": "Android", "rooted": True}}
    sections = context_sections(event, japanese)
    assert [section.title for section in sections] == ["デバイス", "OS"]
    device = dict(sections[0].rows)
    assert device == {"モデル": "Pixel 6a", "メモリ": "6.0 GiB", "アーキテクチャ": "arm64-v8a"}
    assert dict(sections[1].rows) == {"名前": "Android", "root 化 / 脱獄": "はい"}


def test_breadcrumb_levels_are_translated() -> None:
    crumbs = breadcrumbs({"breadcrumbs": [{"timestamp": "2026-01-02T03:04:05.500Z", "level": "LEVEL_WARNING", "category": "http", "data": {"status": "500"}}]}, japanese)
    assert crumbs[0].level == "警告"
    assert crumbs[0].timestamp == "2026-01-02 03:04:05 UTC"
    assert crumbs[0].data == [("status", "500")]


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        ({"filename": "Scheduler.cpp", "lineno": 22, "colno": 13}, "Scheduler.cpp:22:13"),
        ({"abs_path": "/Users/dev/App/main.c", "lineno": 7}, "/Users/dev/App/main.c:7"),
        ({"filename": "Foo.kt"}, "Foo.kt"),
        ({"lineno": 4}, ""),
    ],
)
def test_frame_location(frame: dict[str, object], expected: str) -> None:
    assert frame_location(frame) == expected


def test_value_formatting() -> None:
    assert format_bytes(512) == "512 B"
    assert format_bytes("210763776") == "201.0 MiB"
    assert format_hex("4372693296") == "0x104a20130"
    assert short_release("jp.clinic.ClinicApp@2.3.0+417") == "2.3.0+417"
    assert short_release("a1b2c3d") == "a1b2c3d"
    assert format_datetime("2026-12-04T20:45:20.123456+00:00") == "2026-12-04 20:45:20 UTC"
