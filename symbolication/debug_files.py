"""Inspection of uploaded debug files: what they contain and under which ids to index them.

Accepted uploads:
- a zip with one or more `.dSYM` bundles, also a zipped `.xcarchive` with its `dSYMs`
  and `BCSymbolMaps` folders;
- a bare DWARF file from inside a dSYM, or a thin or universal Mach-O;
- an ELF file: a stripped library or its `--only-keep-debug` companion;
- a Breakpad `.sym` file, or a ProGuard/R8 `mapping.txt`;
- a `<UUID>.bcsymbolmap` file or a dSYM's `<UUID>.plist` UUID mapping (bitcode builds).

symbolic opens Mach-O, ELF and Breakpad files but not zips or `.dSYM` folders, so zips
are unpacked here. Inspection works on files in an UploadWorkspace: the upload is read
once, and the SymCache built to check each object is kept for the store, so an upload
is never built twice.
"""

from __future__ import annotations

import logging
import posixpath
import re
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from symbolic.debuginfo import Archive, BcSymbolMap as SymbolicBcSymbolMap, Object
from symbolic.exceptions import SymbolicError

from symbolication.bitcode import BitcodeFileError, BcSymbolMap, original_uuid_from_plist, uuid_from_file_name
from symbolication.proguard_mapping import (
    InvalidMappingError,
    looks_like_mapping,
    mapping_content_uuid,
    validate_mapping,
)
from symbolication.staging import StagedFile, UploadWorkspace, stage_bytes, stage_stream

logger = logging.getLogger("shindan.symbols")

# Bounds the bytes unpacked from one zip upload, whatever its members declare.
MAX_UNZIPPED_BYTES = 4 * 1024**3

_SUPPORTED_FORMATS = {"macho": "macho", "elf": "elf", "breakpad": "breakpad"}
_DSYM_DWARF_MEMBER = re.compile(r"(?:^|/)[^/]+\.dSYM/Contents/Resources/DWARF/[^/]+$", re.IGNORECASE)
_DSYM_UUID_PLIST_MEMBER = re.compile(r"(?:^|/)[^/]+\.dSYM/Contents/Resources/[^/]+\.plist$", re.IGNORECASE)
_OBJECT_MAGICS = (
    b"\xfe\xed\xfa\xce",  # Mach-O 32-bit, big-endian
    b"\xce\xfa\xed\xfe",  # Mach-O 32-bit, little-endian
    b"\xfe\xed\xfa\xcf",  # Mach-O 64-bit, big-endian
    b"\xcf\xfa\xed\xfe",  # Mach-O 64-bit, little-endian
    b"\xca\xfe\xba\xbe",  # universal (fat) Mach-O
    b"\x7fELF",
    b"MODULE ",  # Breakpad .sym
)
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
_BCSYMBOLMAP_MAGIC = b"BCSymbolMap Version:"
_PLIST_MAGICS = (b"<?xml", b"<plist", b"bplist00")
_SNIFF_BYTES = 64 * 1024


class DebugFileError(Exception):
    """An upload with nothing usable in it; the message is meant for the uploader."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class FoundDebugFile:
    """One usable debug file (or one architecture of it) found in an upload.

    `kind` is "macho", "elf", "breakpad", "proguard", "bcsymbolmap" (its debug_id is the
    original build's UUID) or "uuidmap" (a dSYM UUID plist: debug_id is the dSYM's UUID,
    original_debug_id the original build's, and nothing but that pair is stored).
    """

    kind: str
    debug_id: str  # lowercase dashed UUID, optionally with an age suffix; mapping UUID for proguard
    code_id: str | None
    arch: str  # "" for proguard, bcsymbolmap and uuidmap
    object_name: str  # path of the file inside the upload
    features: list[str]  # sorted: "symtab", "debug", "unwind", "sources", "mapping", "line_info"
    content: StagedFile = field(repr=False)  # the single file to store
    # SymCache built while checking the object, for the store to install instead of building again.
    symcache: Path | None = field(default=None, repr=False)
    original_debug_id: str | None = None

    @property
    def data(self) -> bytes:
        return self.content.read_bytes()


@dataclass
class InspectionResult:
    found: list[FoundDebugFile]
    # One readable line per file of the upload that was skipped, with the reason.
    skipped: list[str]


def inspect_debug_file(data: bytes, filename: str, mapping_uuid: str | None = None) -> list[FoundDebugFile]:
    """Return every usable debug file in an upload held in memory.

    A mapping uploaded with `mapping_uuid` is returned under that UUID and under its
    content UUID. Raises DebugFileError when nothing in the upload is usable.
    """
    return require_found(inspect_upload(data, filename, mapping_uuid), filename)


def require_found(result: InspectionResult, filename: str) -> list[FoundDebugFile]:
    """Return the found files, or raise DebugFileError listing why every file was skipped."""
    if result.found:
        return result.found
    if len(result.skipped) == 1:
        raise DebugFileError(result.skipped[0])
    shown = result.skipped[:_MAX_SKIPPED_SHOWN]
    more = len(result.skipped) - len(shown)
    suffix = f"; and {more} more file(s) like these" if more > 0 else ""
    raise DebugFileError(f"{display_name(filename)} contains no usable debug file: " + "; ".join(shown) + suffix)


# A zip of many unrelated files (an .ipa, a .jar) would otherwise give a
# message with one reason per file.
_MAX_SKIPPED_SHOWN = 3


def inspect_upload(data: bytes, filename: str, mapping_uuid: str | None = None) -> InspectionResult:
    """Inspect an upload held in memory, as inspect_staged_upload does.

    The files are staged in a temporary workspace that is removed once the result and
    every FoundDebugFile from it are garbage collected.
    """
    if not data:
        raise DebugFileError(f"{display_name(filename)} is empty.")
    workspace = UploadWorkspace()
    return inspect_staged_upload(stage_bytes(data, workspace), filename, mapping_uuid)


def inspect_staged_upload(staged: StagedFile, filename: str, mapping_uuid: str | None = None) -> InspectionResult:
    """Inspect an upload and also report the files in it that were skipped, and why.

    Raises DebugFileError only for problems with the upload as a whole: an empty file, a
    damaged zip, an invalid `mapping_uuid`.
    """
    name = display_name(filename)
    if staged.size == 0:
        raise DebugFileError(f"{name} is empty.")
    head = _read_head(staged.path)
    if head.startswith(_ZIP_MAGICS):
        return _inspect_zip(staged, name)
    if head.startswith(_BCSYMBOLMAP_MAGIC):
        return _single(lambda: [_inspect_bcsymbolmap(staged, filename)])
    if head.lstrip().startswith(_PLIST_MAGICS) and name.lower().endswith(".plist"):
        return _single(lambda: [_inspect_uuid_plist(staged, filename)])
    if looks_like_mapping(head):
        return _inspect_mapping(staged, name, mapping_uuid)
    return _single(lambda: _inspect_object_file(staged, name))


def display_name(filename: str) -> str:
    return posixpath.basename(filename.replace("\\", "/")) or filename


def normalize_uuid(value: str) -> str:
    """Return a UUID as lowercase with dashes, or raise DebugFileError naming the bad value."""
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        raise DebugFileError(
            f"The mapping UUID {value!r} is not a valid UUID; expected a form like "
            "3828bd45-950f-5e77-9737-b6b3a1d80299."
        ) from None


def _single(inspect: Callable[[], list[FoundDebugFile]]) -> InspectionResult:
    try:
        return InspectionResult(found=inspect(), skipped=[])
    except DebugFileError as error:
        return InspectionResult(found=[], skipped=[error.message])


def _read_head(path: Path) -> bytes:
    with path.open("rb") as file:
        return file.read(_SNIFF_BYTES)


def _inspect_mapping(staged: StagedFile, name: str, mapping_uuid: str | None) -> InspectionResult:
    data = staged.read_bytes()
    try:
        summary = validate_mapping(data)
    except InvalidMappingError as error:
        return InspectionResult(found=[], skipped=[f"{name} is not a valid ProGuard mapping: {error}."])

    features = ["line_info", "mapping"] if summary.has_line_info else ["mapping"]
    uuids = [mapping_content_uuid(data)]
    if mapping_uuid is not None:
        requested_uuid = normalize_uuid(mapping_uuid)
        if requested_uuid not in uuids:
            uuids.insert(0, requested_uuid)
    found = [
        FoundDebugFile(
            kind="proguard",
            debug_id=mapping_id,
            code_id=None,
            arch="",
            object_name=name,
            features=features,
            content=staged,
        )
        for mapping_id in uuids
    ]
    return InspectionResult(found=found, skipped=[])


def _inspect_object_file(staged: StagedFile, name: str) -> list[FoundDebugFile]:
    """Open a Mach-O, ELF or Breakpad file and build each object's SymCache to check it."""
    try:
        archive = Archive.open(str(staged.path))
        objects = list(archive.iter_objects())
    except SymbolicError as error:
        raise DebugFileError(
            f"{name} is not a supported debug file (dSYM zip, Mach-O, ELF, Breakpad .sym, "
            f"ProGuard mapping or BCSymbolMap), or it is damaged: {_first_line(error)}."
        ) from None
    if not objects:
        raise DebugFileError(f"{name} contains no object file.")
    if objects[0].file_format == "breakpad":
        _check_breakpad_complete(staged, name)
    return [_describe_object(obj, staged, name) for obj in objects]


def _check_breakpad_complete(staged: StagedFile, name: str) -> None:
    # dump_syms ends every record with a newline. symbolic accepts a .sym cut in the
    # middle of a record, so a missing final newline is the one sign of truncation.
    with staged.path.open("rb") as file:
        file.seek(-1, 2)
        last_byte = file.read(1)
    if last_byte != b"\n":
        raise DebugFileError(
            f"{name} is damaged: it ends in the middle of a line, so it is probably truncated. "
            "Upload the complete .sym file."
        )


def _describe_object(obj: Object, staged: StagedFile, name: str) -> FoundDebugFile:
    kind = _SUPPORTED_FORMATS.get(obj.file_format)
    label = f"{name} ({obj.arch})"
    if kind is None:
        raise DebugFileError(f"{label} is a {obj.file_format} file, which Shindan does not support.")
    features = sorted(obj.features)
    if "symtab" not in features and "debug" not in features:
        raise DebugFileError(
            f"{label} has no usable debug information: it has neither a symbol table nor "
            "DWARF debug info. Upload the dSYM or the unstripped library instead."
        )
    try:
        # Building a SymCache reads every function and line record, so damage in the
        # middle of the file shows up here and not later, while an event waits for it.
        symcache = obj.make_symcache()
    except SymbolicError as error:
        raise DebugFileError(f"{label} is damaged: {_first_line(error)}.") from None
    assert staged.workspace is not None
    symcache_path = staged.workspace.new_path(".symc")
    with symcache_path.open("wb") as file:
        symcache.dump_into(file)
    return FoundDebugFile(
        kind=kind,
        debug_id=obj.debug_id,
        code_id=obj.code_id,
        arch=obj.arch,
        object_name=name,
        features=features,
        content=staged,
        symcache=symcache_path,
    )


def _inspect_bcsymbolmap(staged: StagedFile, object_name: str) -> FoundDebugFile:
    name = display_name(object_name)
    original_uuid = uuid_from_file_name(object_name)
    if original_uuid is None:
        raise DebugFileError(
            f"{name} is a BCSymbolMap, but its file name does not start with a UUID. Keep the name "
            "Xcode gives it, <UUID>.bcsymbolmap, with the UUID of the build it belongs to."
        )
    try:
        BcSymbolMap.parse(staged.read_bytes())
        SymbolicBcSymbolMap.open(str(staged.path))
    except BitcodeFileError as error:
        raise DebugFileError(f"{name} is not a valid BCSymbolMap: {error}.") from None
    except SymbolicError as error:
        raise DebugFileError(f"{name} is not a valid BCSymbolMap: {_first_line(error)}.") from None
    return FoundDebugFile(
        kind="bcsymbolmap",
        debug_id=original_uuid,
        code_id=None,
        arch="",
        object_name=object_name,
        features=[],
        content=staged,
    )


def _inspect_uuid_plist(staged: StagedFile, object_name: str) -> FoundDebugFile:
    name = display_name(object_name)
    dsym_uuid = uuid_from_file_name(object_name)
    if dsym_uuid is None:
        raise DebugFileError(
            f"{name} is a property list but not a dSYM UUID mapping: a mapping is named <UUID>.plist "
            "after the dSYM's UUID."
        )
    try:
        original_uuid = original_uuid_from_plist(staged.read_bytes())
    except BitcodeFileError as error:
        raise DebugFileError(f"{name} is not a valid dSYM UUID mapping: {error}.") from None
    return FoundDebugFile(
        kind="uuidmap",
        debug_id=dsym_uuid,
        code_id=None,
        arch="",
        object_name=object_name,
        features=[],
        content=staged,
        original_debug_id=original_uuid,
    )


def _inspect_zip(staged: StagedFile, name: str) -> InspectionResult:
    try:
        archive = zipfile.ZipFile(staged.path)
        members = [info for info in archive.infolist() if _is_candidate_member(info)]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as error:
        raise DebugFileError(f"{name} is not a valid zip archive, or it is truncated: {error}.") from None

    dsym_members = [info for info in members if _DSYM_DWARF_MEMBER.search(info.filename)]
    bitcode_members = [info for info in members if _is_bitcode_member(info.filename)]
    object_members = dsym_members or [info for info in members if info not in bitcode_members]
    declared_size = sum(info.file_size for info in object_members + bitcode_members)
    if declared_size > MAX_UNZIPPED_BYTES:
        raise DebugFileError(
            f"{name} unpacks to {declared_size} bytes, more than the limit of "
            f"{MAX_UNZIPPED_BYTES} bytes; upload the dSYMs in several zips."
        )

    result = InspectionResult(found=[], skipped=[])
    assert staged.workspace is not None
    with archive:
        for info in object_members:
            _inspect_zip_member(archive, info, staged.workspace, is_dsym=bool(dsym_members), result=result)
        for info in bitcode_members:
            _inspect_zip_member(archive, info, staged.workspace, is_dsym=False, result=result)
    if not result.found and not result.skipped:
        raise DebugFileError(f"{name} contains no dSYM bundle and no debug file.")
    for reason in result.skipped:
        logger.info("Skipped a file in upload %s: %s", name, reason)
    return result


def _is_candidate_member(info: zipfile.ZipInfo) -> bool:
    path = info.filename
    base = posixpath.basename(path)
    return not (info.is_dir() or path.startswith("__MACOSX/") or base.startswith("._") or base == ".DS_Store")


def _is_bitcode_member(path: str) -> bool:
    return path.lower().endswith(".bcsymbolmap") or bool(_DSYM_UUID_PLIST_MEMBER.search(path))


def _inspect_zip_member(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    workspace: UploadWorkspace,
    *,
    is_dsym: bool,
    result: InspectionResult,
) -> None:
    path = info.filename
    is_bitcode = _is_bitcode_member(path)
    try:
        if not is_dsym and not is_bitcode:
            with archive.open(info) as member:
                if not member.read(len(b"MODULE ")).startswith(_OBJECT_MAGICS):
                    # Outside dSYM bundles a zip also carries Info.plists, headers and resources.
                    return
        with archive.open(info) as member:
            staged = stage_stream(member, workspace)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        result.skipped.append(f"{path} could not be unpacked, so the zip is probably damaged: {error}.")
        return
    try:
        if path.lower().endswith(".bcsymbolmap"):
            result.found.append(_inspect_bcsymbolmap(staged, path))
        elif is_bitcode:
            if uuid_from_file_name(path) is not None:
                result.found.append(_inspect_uuid_plist(staged, path))
        else:
            result.found.extend(_inspect_object_file(staged, path))
    except DebugFileError as error:
        result.skipped.append(error.message)


def _first_line(error: SymbolicError) -> str:
    text = str(error.message if hasattr(error, "message") else error).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    # symbolic repeats its innermost cause; keep the summary and the first cause.
    return ", ".join(dict.fromkeys(lines[:2]))
