"""Native symbolication of the corpus's Apple crashes and debug files (Sentry events, dSYMs, Breakpad)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from service.schema import crash_report_pb2 as pb
from symbolication import Symbolicator
from tests.symbolication.helpers import DebugFileIndex, native_report

BREAKPAD_TOOLS_ID = "67e9247c-814e-392b-a027-dbde6748fcbf"
ELECTRON_ID = "cb63147a-c9dc-308b-8ca1-ee92a5042e8e"
LOAD_ADDRESS = 0x1_0A5C_0000


def upload_crashprobe_dsyms(debug_files: DebugFileIndex, corpus: Path) -> None:
    for path in sorted((corpus / "C005-crashprobe-dsyms").glob("*.dwarf")):
        debug_files.upload_path(path)


def symbolicated(frames: list[pb.Frame]) -> list[pb.Frame]:
    return [frame for frame in frames if frame.status == pb.FRAME_STATUS_SYMBOLICATED]


def crashed_thread(report: pb.CrashReport) -> pb.Thread:
    return next(thread for thread in report.threads if thread.crashed)


def test_objc_crash_in_sentry_event(
    symbolicator: Symbolicator,
    debug_files: DebugFileIndex,
    sentry_report: Callable[[str], pb.CrashReport],
    corpus: Path,
) -> None:
    upload_crashprobe_dsyms(debug_files, corpus)
    report = sentry_report("C005-crashprobe-pthread-list-lock.sentry.json")

    result = symbolicator.symbolicate(report)

    frames = symbolicated(list(crashed_thread(report).frames))
    summary = [(frame.function, frame.filename, frame.lineno) for frame in frames]
    assert summary[:2] == [
        ("-[CRLCrashAsyncSafeThread crash]", "CRLCrashAsyncSafeThread.m", 41),
        ("-[CRLDetailViewController doCrash]", "CRLDetailViewController.m", 53),
    ]
    assert ("main", "main.m", 16) in summary
    assert all(frame.lang == "objc" for frame in frames)
    assert result.symbolicated_frames >= 3
    assert result.malformed == []


def test_caller_frames_adjusted(
    symbolicator: Symbolicator,
    debug_files: DebugFileIndex,
    sentry_report: Callable[[str], pb.CrashReport],
    corpus: Path,
) -> None:
    upload_crashprobe_dsyms(debug_files, corpus)
    report = sentry_report("C005-crashprobe-pthread-list-lock.sentry.json")
    for frame in crashed_thread(report).frames:
        frame.address_mode = "exact"

    symbolicator.symbolicate(report)

    # Looked up at the return address itself, the call in line 41 reads as line 45.
    frames = symbolicated(list(crashed_thread(report).frames))
    assert (frames[0].function, frames[0].lineno) == ("-[CRLCrashAsyncSafeThread crash]", 45)


def test_swift_crash_with_inlined_frame(
    symbolicator: Symbolicator,
    debug_files: DebugFileIndex,
    sentry_report: Callable[[str], pb.CrashReport],
    corpus: Path,
) -> None:
    upload_crashprobe_dsyms(debug_files, corpus)
    report = sentry_report("C006-crashprobe-swift.sentry.json")

    symbolicator.symbolicate(report)

    frames = list(crashed_thread(report).frames)
    top, thunk, caller = frames[0], frames[1], frames[2]
    assert (top.function, top.filename, top.lineno, top.lang, top.inlined) == (
        "crash",
        "CRLCrashSwift.swift",
        36,
        "swift",
        True,
    )
    assert thunk.raw_function == "_TToFC11CrashLibiOS13CRLCrashSwift5crashfT_T_"
    assert thunk.function == "@objc CrashLibiOS.CRLCrashSwift.crash() -> ()"
    assert (thunk.lineno, thunk.inlined) == (0, False)
    assert thunk.instruction_addr == top.instruction_addr
    assert (caller.function, caller.filename, caller.lineno) == (
        "-[CRLDetailViewController doCrash]",
        "CRLDetailViewController.m",
        53,
    )


def test_sentry_event_image_statuses(
    symbolicator: Symbolicator,
    debug_files: DebugFileIndex,
    sentry_report: Callable[[str], pb.CrashReport],
    corpus: Path,
) -> None:
    upload_crashprobe_dsyms(debug_files, corpus)
    report = sentry_report("C005-crashprobe-pthread-list-lock.sentry.json")

    result = symbolicator.symbolicate(report)

    statuses = {image.code_file.rsplit("/", 1)[-1]: image for image in report.images}
    assert statuses["CrashProbeiOS"].status == pb.IMAGE_STATUS_FOUND
    assert statuses["CrashLibiOS"].status == pb.IMAGE_STATUS_FOUND
    assert statuses["UIKit"].status == pb.IMAGE_STATUS_MISSING
    assert "No debug file with debug id" in statuses["UIKit"].status_detail
    assert ("native", statuses["UIKit"].debug_id.lower()) in result.missing
    assert statuses["PLCrashReporter_DynamicFramework"].status == pb.IMAGE_STATUS_UNUSED
    # Only images that frames point into are looked up.
    assert len(debug_files.lookups) == len(result.missing) + 2
    uikit_frames = [frame for frame in crashed_thread(report).frames if frame.package.endswith("/UIKit")]
    assert uikit_frames
    assert all(frame.status == pb.FRAME_STATUS_MISSING_SYMBOLS for frame in uikit_frames)


@pytest.mark.parametrize("debug_file", ["C010-electron-1.8.1.dsym.dwarf", "C010-electron-1.8.1.breakpad.sym"])
def test_electron_main_from_dsym_and_breakpad(
    symbolicator: Symbolicator, debug_files: DebugFileIndex, corpus: Path, debug_file: str
) -> None:
    debug_files.upload_path(corpus / debug_file)
    report = native_report(LOAD_ADDRESS, 0x100000, ELECTRON_ID, [LOAD_ADDRESS + 0xF25])

    symbolicator.symbolicate(report)

    frame = report.threads[0].frames[0]
    assert (frame.function, frame.filename, frame.lineno) == ("main", "atom_main.cc", 186)
    assert frame.abs_path.endswith("/atom/app/atom_main.cc")
    assert frame.status == pb.FRAME_STATUS_SYMBOLICATED


def test_inline_chain_in_destructor(symbolicator: Symbolicator, debug_files: DebugFileIndex, corpus: Path) -> None:
    debug_files.upload_path(corpus / "C011-breakpad-tools-macos-crash.dsym.dwarf")
    report = native_report(LOAD_ADDRESS, 0x20000, BREAKPAD_TOOLS_ID, [LOAD_ADDRESS + 0xD7D])

    symbolicator.symbolicate(report)

    frames = report.threads[0].frames
    assert [(frame.function, frame.filename, frame.lineno, frame.inlined) for frame in frames] == [
        ("google_breakpad::MinidumpFileWriter::Close", "minidump_file_writer.cc", 140, True),
        ("google_breakpad::MinidumpFileWriter::~MinidumpFileWriter", "minidump_file_writer.cc", 101, False),
    ]
    assert frames[0].raw_function == "_ZN15google_breakpad18MinidumpFileWriter5CloseEv"
    assert all(frame.lang == "cpp" for frame in frames)


def test_five_frame_inline_chain(symbolicator: Symbolicator, debug_files: DebugFileIndex, corpus: Path) -> None:
    debug_files.upload_path(corpus / "C011-breakpad-tools-macos-crash.dsym.dwarf")
    report = native_report(LOAD_ADDRESS, 0x20000, BREAKPAD_TOOLS_ID, [LOAD_ADDRESS + 0x2DD4])

    symbolicator.symbolicate(report)

    frames = report.threads[0].frames
    assert len(frames) == 5
    assert frames[0].function.startswith("std::__1::vector<unsigned char")
    assert frames[0].function.endswith("::operator[]")
    assert (frames[0].filename, frames[0].lineno) == ("vector", 1510)
    assert (frames[-1].function, frames[-1].filename, frames[-1].lineno) == (
        "google_breakpad::DynamicImages::GetExecutableImage",
        "dynamic_images.cc",
        526,
    )
    assert [frame.inlined for frame in frames] == [True, True, True, True, False]
    assert len({frame.symbol_addr for frame in frames}) == 1


def test_inlined_crash_into_main(symbolicator: Symbolicator, debug_files: DebugFileIndex, corpus: Path) -> None:
    debug_files.upload_path(corpus / "C011-breakpad-tools-macos-crash.dsym.dwarf")
    report = native_report(LOAD_ADDRESS, 0x20000, BREAKPAD_TOOLS_ID, [LOAD_ADDRESS + 0xDC15])

    symbolicator.symbolicate(report)

    assert [(frame.function, frame.filename, frame.lineno) for frame in report.threads[0].frames] == [
        ("(anonymous namespace)::crash", "main.cpp", 21),
        ("(anonymous namespace)::start", "main.cpp", 25),
        ("main", "main.cpp", 32),
    ]


def test_breakpad_sym_inline_records(symbolicator: Symbolicator, debug_files: DebugFileIndex, corpus: Path) -> None:
    debug_files.upload_path(corpus / "C011-breakpad-tools-macos-crash.inlines.sym")
    report = native_report(LOAD_ADDRESS, 0x20000, BREAKPAD_TOOLS_ID, [LOAD_ADDRESS + 0xDC15])

    symbolicator.symbolicate(report)

    # Breakpad files store demangled names with parameter lists; only raw_function keeps them.
    frames = report.threads[0].frames
    assert [(frame.function, frame.lineno) for frame in frames] == [
        ("(anonymous namespace)::crash", 21),
        ("(anonymous namespace)::start", 25),
        ("main", 32),
    ]
    assert [frame.raw_function for frame in frames] == [
        "(anonymous namespace)::crash()",
        "(anonymous namespace)::start()",
        "main",
    ]


def test_symbolicator_shared_by_threads(
    symbolicator: Symbolicator,
    debug_files: DebugFileIndex,
    sentry_report: Callable[[str], pb.CrashReport],
    corpus: Path,
) -> None:
    upload_crashprobe_dsyms(debug_files, corpus)
    reference = sentry_report("C005-crashprobe-pthread-list-lock.sentry.json")
    symbolicator.symbolicate(reference)
    reports = [sentry_report("C005-crashprobe-pthread-list-lock.sentry.json") for _ in range(16)]

    # An exception in a thread fails the test through pytest's unhandled-thread-exception warning.
    threads = [threading.Thread(target=symbolicator.symbolicate, args=(report,)) for report in reports]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert all(report == reference for report in reports)
