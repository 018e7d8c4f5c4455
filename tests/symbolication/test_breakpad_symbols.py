"""Breakpad `.sym` files give the same frames as the dSYM they were made from."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.schema import crash_report_pb2 as pb
from symbolication import SymbolStore, Symbolicator
from symbolication.debug_files import DebugFileError, inspect_debug_file
from symbolication.demangle import strip_parameter_list
from tests.symbolication.helpers import DebugFileIndex, native_report

LOAD_ADDRESS = 0x1_0000_0000
ELECTRON_ID = "cb63147a-c9dc-308b-8ca1-ee92a5042e8e"
BREAKPAD_TOOLS_ID = "67e9247c-814e-392b-a027-dbde6748fcbf"


def frame_summary(frames: list[pb.Frame]) -> list[tuple[str, str, int, bool]]:
    return [(frame.function, frame.filename, frame.lineno, frame.inlined) for frame in frames]


def symbolicate_with(
    tmp_path: Path, debug_file: Path, debug_id: str, offset: int, image_type: int = pb.IMAGE_TYPE_MACHO
) -> list[pb.Frame]:
    store = SymbolStore(tmp_path / debug_file.name)
    index = DebugFileIndex(store)
    index.upload_path(debug_file)
    report = native_report(LOAD_ADDRESS, 0x8000000, debug_id, [LOAD_ADDRESS + offset], image_type=image_type)
    Symbolicator(store, index.find).symbolicate(report)
    return list(report.threads[0].frames)


def test_electron_main_from_sym_and_dsym(tmp_path: Path, corpus: Path) -> None:
    from_sym = symbolicate_with(tmp_path, corpus / "C010-electron-1.8.1.breakpad.sym", ELECTRON_ID, 0xF25)
    from_dsym = symbolicate_with(tmp_path, corpus / "C010-electron-1.8.1.dsym.dwarf", ELECTRON_ID, 0xF25)

    assert frame_summary(from_sym) == [("main", "atom_main.cc", 186, False)]
    assert frame_summary(from_dsym) == frame_summary(from_sym)
    assert from_sym[0].abs_path == from_dsym[0].abs_path


@pytest.mark.parametrize("offset", [0xD7D, 0x2DD4, 0xDC15], ids=["close", "five-frame-chain", "main"])
def test_inline_sym_matches_dsym(tmp_path: Path, corpus: Path, offset: int) -> None:
    from_sym = symbolicate_with(tmp_path, corpus / "C011-breakpad-tools-macos-crash.inlines.sym", BREAKPAD_TOOLS_ID, offset)
    from_dsym = symbolicate_with(tmp_path, corpus / "C011-breakpad-tools-macos-crash.dsym.dwarf", BREAKPAD_TOOLS_ID, offset)

    assert len(from_sym) > 0
    assert all(frame.status == pb.FRAME_STATUS_SYMBOLICATED for frame in from_sym)
    assert frame_summary(from_sym) == frame_summary(from_dsym)


def test_sym_keeps_signature_in_raw_function(tmp_path: Path, corpus: Path) -> None:
    frames = symbolicate_with(tmp_path, corpus / "C011-breakpad-tools-macos-crash.inlines.sym", BREAKPAD_TOOLS_ID, 0xD7D)

    assert [frame.function for frame in frames] == [
        "google_breakpad::MinidumpFileWriter::Close",
        "google_breakpad::MinidumpFileWriter::~MinidumpFileWriter",
    ]
    assert [frame.raw_function for frame in frames] == [
        "google_breakpad::MinidumpFileWriter::Close()",
        "google_breakpad::MinidumpFileWriter::~MinidumpFileWriter()",
    ]


def test_dsym_preferred_over_sym(store: SymbolStore, debug_files: DebugFileIndex, corpus: Path) -> None:
    debug_files.upload_path(corpus / "C010-electron-1.8.1.breakpad.sym")
    debug_files.upload_path(corpus / "C010-electron-1.8.1.dsym.dwarf")

    ref = debug_files.find("native", ELECTRON_ID)

    assert ref is not None
    assert ref.kind == "macho"


def test_truncated_sym_rejected(corpus: Path) -> None:
    data = (corpus / "C011-breakpad-tools-macos-crash.inlines.sym").read_bytes()
    cut = data.index(b"\n", len(data) // 2) + 5

    with pytest.raises(DebugFileError) as raised:
        inspect_debug_file(data[:cut], "crash.sym")

    assert "crash.sym is damaged" in raised.value.message
    assert "truncated" in raised.value.message


@pytest.mark.parametrize(
    ("signature", "name"),
    [
        ("main", "main"),
        ("google_breakpad::MinidumpFileWriter::Close()", "google_breakpad::MinidumpFileWriter::Close"),
        (
            "std::__1::vector<unsigned char, std::__1::allocator<unsigned char> >::operator[](unsigned long) const",
            "std::__1::vector<unsigned char, std::__1::allocator<unsigned char> >::operator[]",
        ),
        ("(anonymous namespace)::IsEnvSet(char const*)", "(anonymous namespace)::IsEnvSet"),
        ("std::__1::function<void ()>::operator()() const", "std::__1::function<void ()>::operator()"),
        ("Foo::operator&(Foo const&) &&", "Foo::operator&"),
        ("operator()", "operator()"),
        ("-[CRLDetailViewController doCrash]", "-[CRLDetailViewController doCrash]"),
        ("value_const", "value_const"),
    ],
)
def test_strip_parameter_list(signature: str, name: str) -> None:
    assert strip_parameter_list(signature) == name
