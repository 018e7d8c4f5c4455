"""The text tombstone converter: tombstone files, logcat excerpts, and a real tombstone rendered as text."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from service.formats.android_common import parse_backtrace_line
from service.formats.errors import InvalidPayload
from service.formats.registry import convert
from service.formats.tombstone_text import convert_tombstone_text, sniff_tombstone_text
from service.schema import android_tombstone_pb2 as tombstone_pb
from service.schema import crash_report_pb2 as pb
from tests.formats.android_helpers import (
    ANDROID_REPORTS,
    LIBRARY,
    RECEIVED_AT,
    assert_library_frames_symbolicated,
    convert_detected,
    crashed_thread,
    load_report_generator,
    symbolicate_with_library_debug_file,
)

TOMBSTONE_FILE = ANDROID_REPORTS / "clinic-native.tombstone.txt"
LOGCAT = ANDROID_REPORTS / "clinic-native.logcat.txt"
PROTOBUF = ANDROID_REPORTS / "clinic-native.tombstone.pb"


def _frame_view(frame: pb.Frame) -> tuple[str, str, int, int]:
    return frame.function, frame.package, frame.instruction_addr, frame.image_addr


def test_c032_as_text_equals_protobuf(corpus: Path) -> None:
    """Render a real tombstone as debuggerd's text and check that both forms convert alike."""
    body = gzip.decompress((corpus / "C032-sentryjava-tombstone.pb.gz").read_bytes())
    tombstone = tombstone_pb.Tombstone.FromString(body)
    text = load_report_generator().tombstone_file_text(tombstone).encode()

    format_name, from_text = convert_detected(text)
    from_protobuf = convert("tombstone", body, RECEIVED_AT)[0]

    assert format_name == "tombstone-text"
    assert [(thread.id, thread.name, thread.crashed, thread.main) for thread in from_text.threads] == [
        (thread.id, thread.name, thread.crashed, thread.main) for thread in from_protobuf.threads
    ]
    for text_thread, protobuf_thread in zip(from_text.threads, from_protobuf.threads, strict=True):
        _assert_same_frames(text_thread, protobuf_thread)
        assert dict(text_thread.registers) == dict(protobuf_thread.registers), text_thread.id
    assert list(from_text.images) == list(from_protobuf.images)
    assert list(from_text.exceptions) == list(from_protobuf.exceptions)
    assert from_text.message == from_protobuf.message
    assert from_text.device == from_protobuf.device
    assert from_text.os == from_protobuf.os
    assert from_text.timestamp == from_protobuf.timestamp


def _assert_same_frames(text_thread: pb.Thread, protobuf_thread: pb.Thread) -> None:
    """Compare frames. Text prints only rel_pc, so a frame outside every image has no address there."""
    assert len(text_thread.frames) == len(protobuf_thread.frames), text_thread.id
    for text_frame, protobuf_frame in zip(text_thread.frames, protobuf_thread.frames, strict=True):
        if protobuf_frame.image_addr:
            assert _frame_view(text_frame) == _frame_view(protobuf_frame), text_thread.id
        else:
            assert (text_frame.function, text_frame.package) == (protobuf_frame.function, protobuf_frame.package)
            assert text_frame.instruction_addr == 0


def test_tombstone_file_matches_protobuf_fixture() -> None:
    format_name, from_text = convert_detected(TOMBSTONE_FILE.read_bytes())
    from_protobuf = convert("tombstone", PROTOBUF.read_bytes(), RECEIVED_AT)[0]

    assert format_name == "tombstone-text"
    assert from_text.threads == from_protobuf.threads
    assert from_text.images == from_protobuf.images
    assert from_text.exceptions == from_protobuf.exceptions
    assert [crumb.message for crumb in from_text.breadcrumbs] == [crumb.message for crumb in from_protobuf.breadcrumbs]
    assert [crumb.timestamp for crumb in from_text.breadcrumbs] == [crumb.timestamp for crumb in from_protobuf.breadcrumbs]
    assert list(from_text.notes) == []


def test_logcat_excerpt_fields() -> None:
    format_name, report = convert_detected(LOGCAT.read_bytes())

    assert format_name == "tombstone-text"
    assert len(report.threads) == 1
    thread = crashed_thread(report)
    assert (thread.id, thread.name, thread.main) == (7342, "jp.clinic.app", True)
    assert thread.registers["pc"] == 0x7A_3C00_15B0
    assert report.exceptions[0].mechanism.signal.name == "SIGTRAP"
    assert report.exceptions[0].mechanism.fault_address == 0x7A_3C00_15B0
    assert report.app.bundle_id == "jp.clinic.app"
    assert report.os.version == "15"
    assert [note.step for note in report.notes] == ["parse"]
    library = next(image for image in report.images if image.code_file.endswith("libclinic.so"))
    assert library.code_id == LIBRARY["code_id"]
    assert [frame.instruction_addr - frame.image_addr for frame in thread.frames[:3]] == [0x15B0, 0x15BC, 0x1554]


@pytest.mark.parametrize("path", [TOMBSTONE_FILE, LOGCAT], ids=["tombstone-file", "logcat"])
def test_text_fixture_symbolicates(path: Path, tmp_path: Path) -> None:
    report = convert("tombstone-text", path.read_bytes(), RECEIVED_AT)[0]
    symbolicate_with_library_debug_file(report, tmp_path)
    assert_library_frames_symbolicated(list(crashed_thread(report).frames))


def test_backtrace_line_with_nested_parentheses() -> None:
    line = (
        "      #01 pc 00000000006f0e84  /apex/com.android.art/lib64/libart.so "
        "(art::Thread::DumpStack(std::__1::basic_ostream<char, std::__1::char_traits<char> >&, bool) const+236) "
        "(BuildId: E24A1818231CFB1649CB83A5D2869598)"
    )
    entry = parse_backtrace_line(line)
    assert entry is not None
    assert entry.rel_pc == 0x6F0E84
    assert entry.file_name == "/apex/com.android.art/lib64/libart.so"
    assert entry.function_name == (
        "art::Thread::DumpStack(std::__1::basic_ostream<char, std::__1::char_traits<char> >&, bool) const"
    )
    assert entry.function_offset == 236
    assert entry.build_id == "e24a1818231cfb1649cb83a5d2869598"


def test_backtrace_line_with_offset_and_deleted_file() -> None:
    entry = parse_backtrace_line(
        "  #04 pc 0000000002074370  /memfd:jit-cache (deleted) (offset 0x2000000) (android.os.Looper.dispatchMessage+128)"
    )
    assert entry is not None
    assert entry.file_name == "/memfd:jit-cache (deleted)"
    assert entry.file_map_offset == 0x2000000
    assert entry.function_name == "android.os.Looper.dispatchMessage"
    assert entry.function_offset == 128
    assert entry.build_id == ""


def test_backtrace_line_of_32_bit_process_without_function() -> None:
    entry = parse_backtrace_line("    #00 pc 0001e6f4  /system/lib/libc.so")
    assert entry is not None
    assert (entry.rel_pc, entry.file_name, entry.function_name) == (0x1E6F4, "/system/lib/libc.so", "")


def test_sniffer_needs_header_and_thread_line() -> None:
    assert sniff_tombstone_text(TOMBSTONE_FILE.read_bytes())
    assert sniff_tombstone_text(LOGCAT.read_bytes())
    assert not sniff_tombstone_text(b"*** *** *** *** ***\nnothing else\n")
    assert not sniff_tombstone_text(b"pid: 1, tid: 1, name: x  >>> y <<<\n")


def test_converter_rejects_text_without_tombstone() -> None:
    with pytest.raises(InvalidPayload, match="no tombstone"):
        convert_tombstone_text(b"hello\nworld\n", RECEIVED_AT)


def test_logcat_brief_format() -> None:
    """`adb logcat -v brief` writes "F/DEBUG   ( 7371): " in place of the threadtime prefix."""
    lines = []
    for line in LOGCAT.read_text(encoding="utf-8").splitlines():
        prefix, separator, content = line.partition(" F DEBUG   : ")
        lines.append(f"F/DEBUG   ( 7371): {content}" if separator else line)
    brief = convert("tombstone-text", "\n".join(lines).encode(), RECEIVED_AT)[0]
    threadtime = convert("tombstone-text", LOGCAT.read_bytes(), RECEIVED_AT)[0]
    assert brief.threads == threadtime.threads
    assert brief.exceptions == threadtime.exceptions
    assert brief.images == threadtime.images
