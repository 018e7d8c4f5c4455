"""inspect_debug_file on the corpus's real debug files and on damaged or unrelated uploads."""

from __future__ import annotations

import io
import struct
import uuid
import zipfile
from pathlib import Path

import pytest
from symbolic.proguard import ProguardMapper

from symbolication.debug_files import DebugFileError, inspect_debug_file, inspect_upload

CRASHLIB_ID = "3cd3e3cc-281e-3af3-84eb-cde6d56f0559"
CRASHPROBE_ID = "54039061-a983-3323-a49d-837a894d667f"
BREAKPAD_TOOLS_ID = "67e9247c-814e-392b-a027-dbde6748fcbf"
LINUX_CRASH_ID = "c0bcc3f1-9827-fe65-3058-404b2831d9e6"
LINUX_BUILD_ID = "f1c3bcc0279865fe3058404b2831d9e64135386c"
C014_MAPPING_ID = "a48ca62b-df26-544e-a8b9-2a5ce210d1d5"
PNG_HEADER = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"


def dsym_zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def fat_macho(slices: list[tuple[int, int, bytes]]) -> bytes:
    """Build a universal Mach-O from (cputype, cpusubtype, thin file) slices, 4 KiB aligned."""
    header = struct.pack(">II", 0xCAFEBABE, len(slices))
    offset = 4096
    entries = b""
    body = b""
    for cputype, cpusubtype, content in slices:
        entries += struct.pack(">iiIII", cputype, cpusubtype, offset, len(content), 12)
        padding = (-len(content)) % 4096
        body += content + b"\x00" * padding
        offset += len(content) + padding
    prefix = header + entries
    return prefix + b"\x00" * (4096 - len(prefix)) + body


def bare_macho() -> bytes:
    """An arm64 Mach-O with a __TEXT segment and an LC_UUID, but no symbols and no DWARF."""
    segment = struct.pack("<II16sQQQQiiII", 0x19, 72, b"__TEXT", 0x100000000, 0x4000, 0, 0x4000, 5, 5, 0, 0)
    uuid_command = struct.pack("<II16s", 0x1B, 24, uuid.UUID("11111111-2222-3333-4444-555555555555").bytes)
    header = struct.pack("<IiiIIIII", 0xFEEDFACF, 0x0100000C, 0, 2, 2, len(segment) + len(uuid_command), 0, 0)
    content = header + segment + uuid_command
    return content + b"\x00" * (0x4000 - len(content))


def test_dsym_zip_with_two_bundles(corpus: Path) -> None:
    dsyms = corpus / "C005-crashprobe-dsyms"
    lib = (dsyms / f"{CRASHLIB_ID.upper()}.CrashLibiOS.dwarf").read_bytes()
    app = (dsyms / f"{CRASHPROBE_ID.upper()}.CrashProbeiOS.dwarf").read_bytes()
    upload = dsym_zip(
        {
            "CrashLibiOS.framework.dSYM/Contents/Info.plist": b"<plist/>",
            "CrashLibiOS.framework.dSYM/Contents/Resources/DWARF/CrashLibiOS": lib,
            "CrashProbeiOS.app.dSYM/Contents/Info.plist": b"<plist/>",
            "CrashProbeiOS.app.dSYM/Contents/Resources/DWARF/CrashProbeiOS": app,
            "__MACOSX/CrashProbeiOS.app.dSYM/Contents/Resources/DWARF/._CrashProbeiOS": b"\x00\x05\x16\x07",
        }
    )

    found = {entry.debug_id: entry for entry in inspect_debug_file(upload, "dSYMs.zip")}

    assert sorted(found) == sorted([CRASHLIB_ID, CRASHPROBE_ID])
    assert found[CRASHLIB_ID].object_name == "CrashLibiOS.framework.dSYM/Contents/Resources/DWARF/CrashLibiOS"
    assert found[CRASHLIB_ID].data == lib
    assert found[CRASHPROBE_ID].data == app
    for entry in found.values():
        assert entry.kind == "macho"
        assert entry.arch == "arm64"
        assert entry.features == ["debug", "symtab"]
        assert entry.code_id == entry.debug_id.replace("-", "")


def test_xcarchive_dsyms_folder_zipped(corpus: Path) -> None:
    app = (corpus / "C005-crashprobe-dsyms" / f"{CRASHPROBE_ID.upper()}.CrashProbeiOS.dwarf").read_bytes()
    upload = dsym_zip({"Probe 2024.xcarchive/dSYMs/CrashProbeiOS.app.dSYM/Contents/Resources/DWARF/CrashProbeiOS": app})

    found = inspect_debug_file(upload, "Probe.xcarchive.zip")

    assert [entry.debug_id for entry in found] == [CRASHPROBE_ID]


def test_zip_keeps_good_dsym_beside_damaged_one(corpus: Path) -> None:
    lib = (corpus / "C005-crashprobe-dsyms" / f"{CRASHLIB_ID.upper()}.CrashLibiOS.dwarf").read_bytes()
    upload = dsym_zip(
        {
            "CrashLibiOS.framework.dSYM/Contents/Resources/DWARF/CrashLibiOS": lib,
            "Broken.app.dSYM/Contents/Resources/DWARF/Broken": lib[:5000],
        }
    )

    result = inspect_upload(upload, "dSYMs.zip")

    assert [entry.debug_id for entry in result.found] == [CRASHLIB_ID]
    assert len(result.skipped) == 1
    assert "Broken.app.dSYM/Contents/Resources/DWARF/Broken" in result.skipped[0]


def test_zip_without_debug_files_rejected() -> None:
    upload = dsym_zip({"App.app.dSYM/Contents/Info.plist": b"<plist/>", "README.txt": b"hello"})

    with pytest.raises(DebugFileError, match="contains no dSYM bundle and no debug file"):
        inspect_debug_file(upload, "empty-dsyms.zip")


def test_damaged_zip_rejected(corpus: Path) -> None:
    lib = (corpus / "C005-crashprobe-dsyms" / f"{CRASHLIB_ID.upper()}.CrashLibiOS.dwarf").read_bytes()
    upload = dsym_zip({"CrashLibiOS.framework.dSYM/Contents/Resources/DWARF/CrashLibiOS": lib})

    with pytest.raises(DebugFileError, match="dSYMs.zip"):
        inspect_debug_file(upload[: len(upload) // 2], "dSYMs.zip")


def test_fat_macho_one_entry_per_arch(corpus: Path) -> None:
    x86_64 = (corpus / "C011-breakpad-tools-macos-crash.dsym.dwarf").read_bytes()
    arm64 = (corpus / "C005-crashprobe-dsyms" / f"{CRASHLIB_ID.upper()}.CrashLibiOS.dwarf").read_bytes()
    upload = fat_macho([(0x01000007, 3, x86_64), (0x0100000C, 0, arm64)])

    found = inspect_debug_file(upload, "Universal")

    assert [(entry.arch, entry.debug_id) for entry in found] == [("x86_64", BREAKPAD_TOOLS_ID), ("arm64", CRASHLIB_ID)]
    assert all(entry.data == upload for entry in found)


def test_bare_dwarf_file_from_dsym(corpus: Path) -> None:
    found = inspect_debug_file((corpus / "C010-electron-1.8.1.dsym.dwarf").read_bytes(), "Electron")

    assert len(found) == 1
    assert found[0].debug_id == "cb63147a-c9dc-308b-8ca1-ee92a5042e8e"
    assert found[0].arch == "x86_64"
    assert found[0].features == ["debug", "symtab"]


def test_executable_has_symtab_only(corpus: Path) -> None:
    found = inspect_debug_file((corpus / "C011-breakpad-tools-macos-crash.macho").read_bytes(), "crash")

    assert [(entry.kind, entry.debug_id, entry.features) for entry in found] == [
        ("macho", BREAKPAD_TOOLS_ID, ["symtab", "unwind"])
    ]


def test_elf_stripped_and_debug_companion(corpus: Path) -> None:
    stripped = inspect_debug_file((corpus / "C013-breakpad-tools-linux-crash.elf").read_bytes(), "crash")
    companion = inspect_debug_file((corpus / "C013-breakpad-tools-linux-crash.debug").read_bytes(), "crash.debug")

    assert [(entry.kind, entry.debug_id, entry.code_id) for entry in stripped] == [("elf", LINUX_CRASH_ID, LINUX_BUILD_ID)]
    assert [(entry.kind, entry.debug_id, entry.code_id) for entry in companion] == [("elf", LINUX_CRASH_ID, LINUX_BUILD_ID)]
    assert stripped[0].features == ["symtab", "unwind"]
    assert companion[0].features == ["debug", "symtab"]


def test_elf_debug_id_from_build_id(corpus: Path) -> None:
    found = inspect_debug_file((corpus / "C013-breakpad-tools-linux-crash.debug").read_bytes(), "crash.debug")

    build_id = bytes.fromhex(found[0].code_id or "")
    assert found[0].debug_id == str(uuid.UUID(bytes_le=build_id[:16]))


def test_breakpad_sym_file(corpus: Path) -> None:
    found = inspect_debug_file((corpus / "C010-electron-1.8.1.breakpad.sym").read_bytes(), "Electron.sym")

    assert [(entry.kind, entry.debug_id, entry.arch) for entry in found] == [
        ("breakpad", "cb63147a-c9dc-308b-8ca1-ee92a5042e8e", "x86_64")
    ]


def test_mapping_content_uuid(corpus: Path) -> None:
    path = corpus / "C014-symbolic-py-proguard.mapping.txt"

    found = inspect_debug_file(path.read_bytes(), "mapping.txt")

    assert [(entry.kind, entry.debug_id, entry.arch, entry.code_id) for entry in found] == [
        ("proguard", C014_MAPPING_ID, "", None)
    ]
    assert found[0].debug_id == str(ProguardMapper.open(str(path)).uuid)
    assert found[0].features == ["line_info", "mapping"]


def test_mapping_with_extra_uuid(corpus: Path) -> None:
    data = (corpus / "C014-symbolic-py-proguard.mapping.txt").read_bytes()
    build_uuid = "8A4C2E41-2F6C-4B3A-9E1D-0C5B7A9D3F10"

    found = inspect_debug_file(data, "mapping.txt", mapping_uuid=build_uuid)

    assert [entry.debug_id for entry in found] == [build_uuid.lower(), C014_MAPPING_ID]
    assert all(entry.data == data for entry in found)


def test_mapping_uuid_equal_to_content() -> None:
    data = b"com.example.Main -> a:\n    void run() -> a\n"
    content_uuid = inspect_debug_file(data, "mapping.txt")[0].debug_id

    found = inspect_debug_file(data, "mapping.txt", mapping_uuid=content_uuid.upper())

    assert [entry.debug_id for entry in found] == [content_uuid]


def test_mapping_without_line_info() -> None:
    found = inspect_debug_file(b"com.example.Main -> a:\n    void run() -> a\n", "mapping.txt")

    assert found[0].features == ["mapping"]


def test_invalid_mapping_uuid_rejected() -> None:
    with pytest.raises(DebugFileError, match="not a valid UUID"):
        inspect_debug_file(b"com.example.Main -> a:\n    void run() -> a\n", "mapping.txt", mapping_uuid="build-42")


def test_truncated_mapping_rejected(corpus: Path) -> None:
    data = (corpus / "C014-symbolic-py-proguard.mapping.txt").read_bytes()
    cut = data.index(b" -> ", len(data) // 2)

    with pytest.raises(DebugFileError, match=r"mapping.txt is not a valid ProGuard mapping: line \d+"):
        inspect_debug_file(data[:cut], "mapping.txt")


@pytest.mark.parametrize(
    ("content", "filename"),
    [
        (b"Exception in thread main java.lang.RuntimeException\n", "notes.txt"),
        (PNG_HEADER + b"\x00" * 64, "icon.png"),
    ],
    ids=["text", "png"],
)
def test_unrelated_file_rejected(content: bytes, filename: str) -> None:
    with pytest.raises(DebugFileError, match=f"{filename} is not a supported debug file"):
        inspect_debug_file(content, filename)


def test_empty_file_rejected() -> None:
    with pytest.raises(DebugFileError, match="App.dSYM.zip is empty"):
        inspect_debug_file(b"", "build/App.dSYM.zip")


def test_truncated_macho_rejected(corpus: Path) -> None:
    data = (corpus / "C011-breakpad-tools-macos-crash.macho").read_bytes()

    with pytest.raises(DebugFileError, match="crash.*damaged"):
        inspect_debug_file(data[: len(data) // 2], "crash")


def test_macho_without_symbols_rejected() -> None:
    with pytest.raises(DebugFileError) as raised:
        inspect_debug_file(bare_macho(), "Stripped")

    assert "Stripped (arm64)" in raised.value.message
    assert "no usable debug information" in raised.value.message
