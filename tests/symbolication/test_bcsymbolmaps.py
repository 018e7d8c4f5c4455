"""Bitcode builds: hidden names in a dSYM resolve through its UUID plist and the BCSymbolMap."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from service.schema import crash_report_pb2 as pb
from symbolication import SymbolStore, Symbolicator
from symbolication.bitcode import BcSymbolMap, BitcodeFileError, original_uuid_from_plist
from symbolication.debug_files import DebugFileError, inspect_debug_file, inspect_upload
from tests.server import REPO
from tests.symbolication.helpers import DebugFileIndex, native_report

OUTPUT = REPO / "fixtures" / "bcsymbolmap" / "output"
DSYM_ZIP = OUTPUT / "Vault.app.dSYM.zip"
CRASHLIB_ID = "3cd3e3cc-281e-3af3-84eb-cde6d56f0559"


@pytest.fixture(scope="module")
def expected() -> dict[str, Any]:
    return json.loads((OUTPUT / "expected.json").read_text())  # type: ignore[no-any-return]


def symbol_map_path(expected: dict[str, Any]) -> Path:
    return OUTPUT / f"{expected['original_uuid'].upper()}.bcsymbolmap"


def crash_report(expected: dict[str, Any]) -> pb.CrashReport:
    image_addr = int(expected["image_addr"], 16)
    address = image_addr + int(expected["crash"]["relative_address"], 16)
    return native_report(image_addr, int(expected["image_size"], 16), expected["dsym_uuid"], [address], arch="arm64")


def test_dsym_zip_yields_object_and_uuid_mapping(expected: dict[str, Any]) -> None:
    found = inspect_debug_file(DSYM_ZIP.read_bytes(), DSYM_ZIP.name)

    assert sorted((entry.kind, entry.debug_id) for entry in found) == [
        ("macho", expected["dsym_uuid"]),
        ("uuidmap", expected["dsym_uuid"]),
    ]
    mapping = next(entry for entry in found if entry.kind == "uuidmap")
    assert mapping.original_debug_id == expected["original_uuid"]


def test_bcsymbolmap_upload_keyed_by_file_name(expected: dict[str, Any]) -> None:
    path = symbol_map_path(expected)

    found = inspect_debug_file(path.read_bytes(), f"BCSymbolMaps/{path.name}")

    assert [(entry.kind, entry.debug_id, entry.arch) for entry in found] == [
        ("bcsymbolmap", expected["original_uuid"], "")
    ]


def test_hidden_names_resolve_after_map_arrives(
    store: SymbolStore, debug_files: DebugFileIndex, expected: dict[str, Any]
) -> None:
    debug_files.upload_path(DSYM_ZIP)
    symbolicator = Symbolicator(store, debug_files.find)

    before = crash_report(expected)
    missing = symbolicator.symbolicate(before).missing
    hidden = expected["crash"]["hidden_frames"][0]
    assert before.threads[0].frames[0].function == hidden["function"]
    assert before.threads[0].frames[0].status == pb.FRAME_STATUS_SYMBOLICATED
    assert missing == [("bcsymbolmap", expected["dsym_uuid"])]
    assert "hidden names" in before.images[0].status_detail

    debug_files.upload_path(symbol_map_path(expected))
    after = crash_report(expected)
    result = symbolicator.symbolicate(after)

    original = expected["crash"]["original_frames"]
    frames = after.threads[0].frames
    assert [(frame.function, frame.abs_path, frame.lineno) for frame in frames] == [
        (item["function"], item["file"], item["line"]) for item in original
    ]
    assert frames[0].filename == "Vault.c"
    assert result.missing == []
    assert "resolved with the uploaded BCSymbolMap" in after.images[0].status_detail


def test_xcarchive_zip_with_maps(store: SymbolStore, debug_files: DebugFileIndex, expected: dict[str, Any]) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(DSYM_ZIP) as source, zipfile.ZipFile(buffer, "w") as archive:
        for info in source.infolist():
            if not info.is_dir():
                archive.writestr(f"Vault.xcarchive/dSYMs/{info.filename}", source.read(info))
        path = symbol_map_path(expected)
        archive.writestr(f"Vault.xcarchive/BCSymbolMaps/{path.name}", path.read_bytes())

    found = debug_files.upload(buffer.getvalue(), "Vault.xcarchive.zip")
    report = crash_report(expected)
    Symbolicator(store, debug_files.find).symbolicate(report)

    assert sorted(entry.kind for entry in found) == ["bcsymbolmap", "macho", "uuidmap"]
    assert report.threads[0].frames[0].function == expected["crash"]["original_frames"][0]["function"]


def test_corpus_dsym_uuid_plist(corpus: Path) -> None:
    dsyms = corpus / "C005-crashprobe-dsyms"
    upload = io.BytesIO()
    with zipfile.ZipFile(upload, "w") as archive:
        archive.writestr(
            "CrashLibiOS.framework.dSYM/Contents/Resources/DWARF/CrashLibiOS",
            (dsyms / f"{CRASHLIB_ID.upper()}.CrashLibiOS.dwarf").read_bytes(),
        )
        archive.writestr(
            f"CrashLibiOS.framework.dSYM/Contents/Resources/{CRASHLIB_ID.upper()}.plist",
            (dsyms / f"{CRASHLIB_ID.upper()}.plist").read_bytes(),
        )

    found = inspect_debug_file(upload.getvalue(), "dSYMs.zip")

    mapping = next(entry for entry in found if entry.kind == "uuidmap")
    assert (mapping.debug_id, mapping.original_debug_id) == (CRASHLIB_ID, "73f2db01-f4c5-371a-9fc2-7a48430a26f7")


def test_bare_uuid_plist_upload(corpus: Path) -> None:
    plist = corpus / "C005-crashprobe-dsyms" / f"{CRASHLIB_ID.upper()}.plist"

    found = inspect_debug_file(plist.read_bytes(), plist.name)

    assert [(entry.kind, entry.debug_id, entry.original_debug_id) for entry in found] == [
        ("uuidmap", CRASHLIB_ID, "73f2db01-f4c5-371a-9fc2-7a48430a26f7")
    ]


def test_bcsymbolmap_without_uuid_name_rejected(expected: dict[str, Any]) -> None:
    with pytest.raises(DebugFileError, match="Vault.bcsymbolmap is a BCSymbolMap, but its file name does not start with a UUID"):
        inspect_debug_file(symbol_map_path(expected).read_bytes(), "Vault.bcsymbolmap")


def test_bcsymbolmap_unknown_version_rejected() -> None:
    name = "4C4C44D2-5555-3144-A146-A375473F9C1D.bcsymbolmap"

    result = inspect_upload(b"BCSymbolMap Version: 3.0\nvault_open\n", name)

    assert result.found == []
    assert result.skipped == [f"{name} is not a valid BCSymbolMap: the first line is not 'BCSymbolMap Version: 2.0'."]


def test_resolve_names_and_paths() -> None:
    symbol_map = BcSymbolMap.parse(b"BCSymbolMap Version: 2.0\nvault_open\nVault.c\n/Users/dev/Vault\n")

    assert symbol_map.resolve("__hidden#0_") == "vault_open"
    assert symbol_map.resolve("___hidden#0_") == "_vault_open"
    assert symbol_map.resolve("__hidden#9_") == "__hidden#9_"
    assert symbol_map.resolve("main") == "main"
    assert symbol_map.resolve_path("__hidden#2_/__hidden#2_/__hidden#1_") == "/Users/dev/Vault/Vault.c"
    assert symbol_map.resolve_path("/src/__hidden#1_") == "/src/Vault.c"


def test_invalid_symbol_map_text() -> None:
    with pytest.raises(BitcodeFileError, match="not valid UTF-8"):
        BcSymbolMap.parse(b"BCSymbolMap Version: 2.0\n\xff\xfe\n")


def test_plist_without_original_uuid() -> None:
    with pytest.raises(BitcodeFileError, match="no DBGOriginalUUID"):
        original_uuid_from_plist(b'<?xml version="1.0"?><plist version="1.0"><dict><key>Other</key><string>x</string></dict></plist>')
