"""Native symbolication of the corpus's Linux ELF crash: stripped binary and debug companion."""

from __future__ import annotations

from pathlib import Path

from service.schema import crash_report_pb2 as pb
from symbolication import Symbolicator
from tests.symbolication.helpers import DebugFileIndex, native_report

LINUX_CRASH_ID = "c0bcc3f1-9827-fe65-3058-404b2831d9e6"
LINUX_BUILD_ID = "f1c3bcc0279865fe3058404b2831d9e64135386c"
LOAD_ADDRESS = 0x5566_7788_0000
CRASH_OFFSET = 0x1D72


def elf_report(debug_id: str = LINUX_CRASH_ID, code_id: str = LINUX_BUILD_ID) -> pb.CrashReport:
    report = native_report(
        LOAD_ADDRESS,
        0x10000,
        debug_id,
        [LOAD_ADDRESS + CRASH_OFFSET],
        code_file="/data/local/tmp/crash",
        image_type=pb.IMAGE_TYPE_ELF,
    )
    report.images[0].code_id = code_id
    return report


def test_debug_companion_preferred(symbolicator: Symbolicator, debug_files: DebugFileIndex, corpus: Path) -> None:
    debug_files.upload_path(corpus / "C013-breakpad-tools-linux-crash.elf")
    debug_files.upload_path(corpus / "C013-breakpad-tools-linux-crash.debug")
    report = elf_report()

    symbolicator.symbolicate(report)

    assert [(frame.function, frame.filename, frame.lineno, frame.inlined) for frame in report.threads[0].frames] == [
        ("crash", "main.cpp", 23, True),
        ("start", "main.cpp", 27, True),
        ("main", "main.cpp", 35, False),
    ]
    assert report.images[0].status == pb.IMAGE_STATUS_FOUND


def test_stripped_binary_gives_names_only(
    symbolicator: Symbolicator, debug_files: DebugFileIndex, corpus: Path
) -> None:
    debug_files.upload_path(corpus / "C013-breakpad-tools-linux-crash.elf")
    report = elf_report()

    symbolicator.symbolicate(report)

    frames = report.threads[0].frames
    assert [(frame.function, frame.filename, frame.lineno) for frame in frames] == [("main", "", 0)]
    assert frames[0].status == pb.FRAME_STATUS_SYMBOLICATED
    assert "no debug info" in report.images[0].status_detail


def test_debug_id_derived_from_build_id(
    symbolicator: Symbolicator, debug_files: DebugFileIndex, corpus: Path
) -> None:
    debug_files.upload_path(corpus / "C013-breakpad-tools-linux-crash.debug")
    report = elf_report(debug_id="")

    symbolicator.symbolicate(report)

    assert ("native", LINUX_CRASH_ID) in debug_files.lookups
    assert report.threads[0].frames[0].function == "crash"


def test_every_function_of_snapshot_resolves(
    symbolicator: Symbolicator, debug_files: DebugFileIndex, corpus: Path
) -> None:
    debug_files.upload_path(corpus / "C013-breakpad-tools-linux-crash.debug")
    snapshot = (corpus / "C013-breakpad-tools-linux-crash.expected-functions.snap.txt").read_text(encoding="utf-8")
    functions = []
    for line in snapshot.splitlines():
        if line.startswith("> 0x"):
            hex_address, _, rest = line[2:].partition(": ")
            functions.append((int(hex_address, 16), rest.rsplit(" (", 1)[0]))
    assert functions
    report = elf_report()
    report.threads[0].ClearField("frames")
    for address, _ in functions:
        report.threads[0].frames.add(instruction_addr=LOAD_ADDRESS + address, address_mode="exact")

    symbolicator.symbolicate(report)

    outermost = [frame for frame in report.threads[0].frames if not frame.inlined]
    assert [frame.raw_function for frame in outermost] == [name for _, name in functions]
