"""Helpers for the Android format tests: fixture paths, the recorded symbolication of libclinic.so, and symbolicating."""

from __future__ import annotations

import importlib.util
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from service.formats.registry import convert, detect_format
from service.schema import crash_report_pb2 as pb
from symbolication import SymbolStore, Symbolicator
from symbolication.demangle import demangle
from tests.symbolication.helpers import DebugFileIndex

RECEIVED_AT = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
ANDROID_REPORTS = FIXTURES / "reports" / "android"
EXPECTED: dict[str, Any] = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))
LIBRARY = next(image for image in EXPECTED["native_images"] if image["name"] == "libclinic.so")


def load_report_generator() -> ModuleType:
    """Import fixtures/reports/make_android_reports.py, whose text renderer the tests reuse."""
    path = FIXTURES / "reports" / "make_android_reports.py"
    spec = importlib.util.spec_from_file_location("make_android_reports", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Dataclasses look their module up in sys.modules while the class is created.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def convert_detected(body: bytes) -> tuple[str, pb.CrashReport]:
    """Detect the format of ``body`` and convert it, as ingest does without ``?format=``."""
    format_name = detect_format(body)
    reports = convert(format_name, body, RECEIVED_AT)
    assert len(reports) == 1
    return format_name, reports[0]


def crashed_thread(report: pb.CrashReport) -> pb.Thread:
    crashed = [thread for thread in report.threads if thread.crashed]
    assert len(crashed) == 1, f"expected one crashed thread, found {[thread.id for thread in crashed]}"
    return crashed[0]


def thread_by_id(report: pb.CrashReport, thread_id: int) -> pb.Thread:
    return next(thread for thread in report.threads if thread.id == thread_id)


def symbolicate_with_library_debug_file(report: pb.CrashReport, tmp_path: Path) -> None:
    """Upload libclinic.so's debug companion and symbolicate ``report`` with the real Symbolicator."""
    store = SymbolStore(tmp_path / "symbols")
    debug_files = DebugFileIndex(store)
    found = debug_files.upload_path(FIXTURES / LIBRARY["debug_files"][0]["path"])
    assert LIBRARY["debug_id"] in [entry.debug_id for entry in found]
    Symbolicator(store, debug_files.find).symbolicate(report)


def assert_library_frames_symbolicated(frames: list[pb.Frame]) -> None:
    """Check that ``frames`` start with the recorded symbolication of libclinic.so's crash stack.

    Caller frames are looked up at their call instruction, which is what
    libunwindstack reports, so each one must equal the frames recorded for
    ``call_address``.
    """
    remaining = list(frames)
    for entry in LIBRARY["addresses"]:
        expanded, remaining = remaining[: len(entry["frames"])], remaining[len(entry["frames"]) :]
        label = entry["label"]
        assert [frame.raw_function for frame in expanded] == [wanted["function"] for wanted in entry["frames"]], label
        assert [frame.function for frame in expanded] == [demangle(wanted["function"])[0] for wanted in entry["frames"]], label
        assert [(frame.abs_path, frame.lineno) for frame in expanded] == [
            (wanted["file"], wanted["line"]) for wanted in entry["frames"]
        ], label
        assert [frame.inlined for frame in expanded] == [True] * (len(expanded) - 1) + [False], label
        assert all(frame.status == pb.FRAME_STATUS_SYMBOLICATED for frame in expanded), label
