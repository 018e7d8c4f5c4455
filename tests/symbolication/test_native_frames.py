"""Native frame handling on built reports: pointer authentication, caller adjustment, statuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.schema import crash_report_pb2 as pb
from symbolication import DebugFileRef, SymbolStore, Symbolicator
from tests.symbolication.helpers import DebugFileIndex, native_report

CRASHLIB_ID = "3cd3e3cc-281e-3af3-84eb-cde6d56f0559"
BREAKPAD_TOOLS_ID = "67e9247c-814e-392b-a027-dbde6748fcbf"
LINUX_CRASH_ID = "c0bcc3f1-9827-fe65-3058-404b2831d9e6"
CRASHLIB_ADDRESS = 0x1_0216_4000
# In CrashLibiOS: the crash in an inlined Swift function, and a return address whose call
# is on line 41 (the next instruction belongs to line 45).
SWIFT_CRASH_OFFSET = 0x9280
RETURN_OFFSET = 0x81D8
PAC_BITS = 0x3C5E_0000_0000_0000


@pytest.fixture
def crashlib(debug_files: DebugFileIndex, corpus: Path) -> None:
    debug_files.upload_path(corpus / "C005-crashprobe-dsyms" / f"{CRASHLIB_ID.upper()}.CrashLibiOS.dwarf")


def crashlib_report(*offsets: int, arch: str = "arm64e") -> pb.CrashReport:
    return native_report(
        CRASHLIB_ADDRESS,
        0x124000,
        CRASHLIB_ID,
        [CRASHLIB_ADDRESS + offset for offset in offsets],
        arch=arch,
        code_file="/private/var/containers/Bundle/Application/0000/CrashProbeiOS.app/Frameworks/CrashLibiOS.framework/CrashLibiOS",
    )


def outermost(frames: list[pb.Frame]) -> list[pb.Frame]:
    return [frame for frame in frames if not frame.inlined]


@pytest.mark.usefixtures("crashlib")
def test_pointer_authentication_bits_stripped(symbolicator: Symbolicator) -> None:
    report = crashlib_report(SWIFT_CRASH_OFFSET, RETURN_OFFSET)
    report.threads[0].frames[1].instruction_addr |= PAC_BITS

    symbolicator.symbolicate(report)

    caller = outermost(list(report.threads[0].frames))[1]
    assert (caller.function, caller.lineno) == ("-[CRLCrashAsyncSafeThread crash]", 41)
    assert caller.instruction_addr == CRASHLIB_ADDRESS + RETURN_OFFSET
    assert caller.status == pb.FRAME_STATUS_SYMBOLICATED


def test_memory_tag_stripped_on_android(debug_files: DebugFileIndex, symbolicator: Symbolicator, corpus: Path) -> None:
    debug_files.upload_path(corpus / "C013-breakpad-tools-linux-crash.debug")
    load_address = 0x7F_2A00_0000
    report = native_report(
        load_address,
        0x10000,
        LINUX_CRASH_ID,
        [(load_address + 0x1D72) | 0xB400_0000_0000_0000],
        code_file="/data/app/~~x/com.example-y/lib/arm64/libcrash.so",
        image_type=pb.IMAGE_TYPE_ELF,
    )

    symbolicator.symbolicate(report)

    assert [frame.function for frame in report.threads[0].frames] == ["crash", "start", "main"]


def test_high_address_inside_listed_image_kept(
    debug_files: DebugFileIndex, symbolicator: Symbolicator, corpus: Path
) -> None:
    debug_files.upload_path(corpus / "C011-breakpad-tools-macos-crash.dsym.dwarf")
    load_address = 0x12_0000_0000
    report = native_report(load_address, 0x20000, BREAKPAD_TOOLS_ID, [load_address + 0xDC15])

    symbolicator.symbolicate(report)

    assert report.threads[0].frames[-1].function == "main"
    assert report.threads[0].frames[-1].instruction_addr == load_address + 0xDC15


@pytest.mark.usefixtures("crashlib")
@pytest.mark.parametrize(
    ("position", "address_mode", "line"),
    [
        (1, "", 41),
        (1, "all_but_first", 41),
        (1, "return", 41),
        (1, "exact", 45),
        (1, "abs", 45),
        (1, "none", 45),
        (0, "", 45),
        (0, "exact", 45),
        (0, "return", 41),
        (0, "all", 41),
    ],
)
def test_address_mode(symbolicator: Symbolicator, position: int, address_mode: str, line: int) -> None:
    offsets = [SWIFT_CRASH_OFFSET, RETURN_OFFSET] if position == 1 else [RETURN_OFFSET]
    report = crashlib_report(*offsets)
    report.threads[0].frames[position].address_mode = address_mode

    symbolicator.symbolicate(report)

    frame = outermost(list(report.threads[0].frames))[position]
    assert (frame.function, frame.lineno) == ("-[CRLCrashAsyncSafeThread crash]", line)


@pytest.mark.usefixtures("crashlib")
def test_unknown_arch_still_adjusts(symbolicator: Symbolicator) -> None:
    report = crashlib_report(SWIFT_CRASH_OFFSET, RETURN_OFFSET, arch="arm64-unknown")

    symbolicator.symbolicate(report)

    assert outermost(list(report.threads[0].frames))[1].lineno == 41


@pytest.mark.usefixtures("crashlib")
def test_top_frame_from_stack_scan_adjusted(symbolicator: Symbolicator) -> None:
    report = crashlib_report(RETURN_OFFSET)
    # The program counter points elsewhere, so frame 0 came from a stack scan and is a return address.
    report.threads[0].registers["pc"] = CRASHLIB_ADDRESS + SWIFT_CRASH_OFFSET
    report.exceptions.add(type="EXC_BAD_ACCESS").mechanism.signal.number = 11

    symbolicator.symbolicate(report)

    assert report.threads[0].frames[0].lineno == 41


def test_address_outside_images(symbolicator: Symbolicator) -> None:
    report = native_report(0x1_0000_0000, 0x4000, BREAKPAD_TOOLS_ID, [0x2_0000_0000])
    report.threads[0].frames[0].function = "_ZN3foo3barEv"

    result = symbolicator.symbolicate(report)

    frame = report.threads[0].frames[0]
    assert frame.status == pb.FRAME_STATUS_UNKNOWN_IMAGE
    assert (frame.function, frame.raw_function, frame.lang) == ("foo::bar", "_ZN3foo3barEv", "cpp")
    assert report.images[0].status == pb.IMAGE_STATUS_UNUSED
    assert (result.symbolicated_frames, result.total_frames) == (0, 1)


def test_frame_without_address(symbolicator: Symbolicator) -> None:
    report = native_report(0x1_0000_0000, 0x4000, BREAKPAD_TOOLS_ID, [0, 0])
    report.threads[0].frames[0].function = "$s6Clinic13BookingScreenC6submityyF"

    symbolicator.symbolicate(report)

    named, empty = report.threads[0].frames
    assert named.status == pb.FRAME_STATUS_NOT_APPLICABLE
    assert named.function == "BookingScreen.submit()"
    assert named.raw_function == "$s6Clinic13BookingScreenC6submityyF"
    assert empty.status == pb.FRAME_STATUS_UNKNOWN_IMAGE


def test_debug_file_not_uploaded(symbolicator: Symbolicator) -> None:
    report = native_report(0x1_0000_0000, 0x20000, BREAKPAD_TOOLS_ID.upper(), [0x1_0000_DC15])
    report.threads[0].frames[0].function = "main"

    result = symbolicator.symbolicate(report)

    frame = report.threads[0].frames[0]
    assert frame.status == pb.FRAME_STATUS_MISSING_SYMBOLS
    assert frame.function == "main"
    assert frame.package == "/Applications/Sample.app/Contents/MacOS/Sample"
    assert report.images[0].status == pb.IMAGE_STATUS_MISSING
    assert BREAKPAD_TOOLS_ID in report.images[0].status_detail
    assert result.missing == [("native", BREAKPAD_TOOLS_ID)]


def test_image_without_debug_id(symbolicator: Symbolicator, debug_files: DebugFileIndex) -> None:
    report = native_report(0x1_0000_0000, 0x20000, "00000000-0000-0000-0000-000000000000", [0x1_0000_DC15])

    result = symbolicator.symbolicate(report)

    assert report.threads[0].frames[0].status == pb.FRAME_STATUS_MISSING_SYMBOLS
    assert report.images[0].status == pb.IMAGE_STATUS_MISSING
    assert "no valid debug id" in report.images[0].status_detail
    assert result.missing == []
    assert debug_files.lookups == []


def test_address_without_entry(symbolicator: Symbolicator, debug_files: DebugFileIndex, corpus: Path) -> None:
    debug_files.upload_path(corpus / "C011-breakpad-tools-macos-crash.dsym.dwarf")
    report = native_report(0x1_0000_0000, 0x1000000, BREAKPAD_TOOLS_ID, [0x1_0090_0000, 0x1_0000_DC16])

    symbolicator.symbolicate(report)

    frames = report.threads[0].frames
    assert frames[0].status == pb.FRAME_STATUS_MALFORMED_SYMBOLS
    assert frames[-1].status == pb.FRAME_STATUS_SYMBOLICATED
    image = report.images[0]
    assert image.status == pb.IMAGE_STATUS_FOUND
    assert "1 address(es) have no entry in it, for example offset 0x900000" in image.status_detail


def test_unreadable_debug_file(symbolicator: Symbolicator, debug_files: DebugFileIndex, store: SymbolStore) -> None:
    # An index entry pointing at bytes that are no object file, as a damaged blob would be.
    sha256 = store.put_blob(b"not a Mach-O file")
    debug_files.register(
        "native", BREAKPAD_TOOLS_ID, DebugFileRef(sha256=sha256, arch="x86_64", features=["debug", "symtab"], kind="macho")
    )
    report = native_report(0x1_0000_0000, 0x20000, BREAKPAD_TOOLS_ID, [0x1_0000_DC15])

    result = symbolicator.symbolicate(report)

    assert report.threads[0].frames[0].status == pb.FRAME_STATUS_MALFORMED_SYMBOLS
    assert report.images[0].status == pb.IMAGE_STATUS_MALFORMED
    assert "cannot be used" in report.images[0].status_detail
    assert result.malformed == [("native", BREAKPAD_TOOLS_ID)]


def test_image_without_size_extends_to_next(
    symbolicator: Symbolicator, debug_files: DebugFileIndex, corpus: Path
) -> None:
    debug_files.upload_path(corpus / "C011-breakpad-tools-macos-crash.dsym.dwarf")
    report = native_report(0x1_0000_0000, 0, BREAKPAD_TOOLS_ID, [0x1_0000_DC15, 0x1_8000_0010])
    report.images.add(type=pb.IMAGE_TYPE_MACHO, code_file="/usr/lib/libSystem.B.dylib", image_addr=0x1_8000_0000)

    symbolicator.symbolicate(report)

    frames = report.threads[0].frames
    assert frames[2].function == "main"
    assert frames[-1].package == "/usr/lib/libSystem.B.dylib"
    assert frames[-1].status == pb.FRAME_STATUS_MISSING_SYMBOLS


@pytest.mark.usefixtures("crashlib")
def test_exception_frames_and_counts(symbolicator: Symbolicator) -> None:
    report = crashlib_report(SWIFT_CRASH_OFFSET, RETURN_OFFSET)
    exception = report.exceptions.add(type="EXC_BREAKPOINT")
    exception.frames.extend(report.threads[0].frames)

    result = symbolicator.symbolicate(report)

    assert [frame.function for frame in exception.frames] == [frame.function for frame in report.threads[0].frames]
    assert exception.frames[0].function == "crash"
    assert (result.symbolicated_frames, result.total_frames) == (4, 4)
