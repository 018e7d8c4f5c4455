"""Inspection of uploaded debug files: what they contain and under which ids to index them.

Accepted uploads:
- a zip with one or more `.dSYM` bundles, also a zipped `.xcarchive` dSYMs folder;
- a bare DWARF file from inside a dSYM, or a thin or universal Mach-O;
- an ELF file: a stripped library or its `--only-keep-debug` companion;
- a Breakpad `.sym` file, or a ProGuard/R8 `mapping.txt`.

symbolic opens Mach-O, ELF and Breakpad files but not zips or `.dSYM` folders, so zips
are unpacked here.
"""

from __future__ import annotations

import io
import logging
import posixpath
import re
import uuid
import zipfile
from dataclasses import dataclass, field

from symbolic.debuginfo import Archive, Object
from symbolic.exceptions import SymbolicError

from symbolication.proguard_mapping import (
    InvalidMappingError,
    looks_like_mapping,
    mapping_content_uuid,
    validate_mapping,
)

logger = logging.getLogger("shindan.symbols")

# Bounds the bytes unpacked from one zip upload, whatever its members declare.
MAX_UNZIPPED_BYTES = 4 * 1024**3

_SUPPORTED_FORMATS = {"macho": "macho", "elf": "elf", "breakpad": "breakpad"}
_DSYM_DWARF_MEMBER = re.compile(r"(?:^|/)[^/]+\.dSYM/Contents/Resources/DWARF/[^/]+$", re.IGNORECASE)
_OBJECT_MAGICS = (
    b"\xfe\xed\xfa\xce",  # Mach-O 32-bit, big-endian
    b"\xce\xfa\xed\xfe",  # Mach-O 32-bit, little-endian
    b"\xfe\xed\xfa\xcf",  # Mach-O 64-bit, big-endian
    b"\xcf\xfa\xed\xfe",  # Mach-O 64-bit, little-endian
    b"\xca\xfe\xba\xbe",  # universal (fat) Mach-O
    b"\x7fELF",
    b"MODULE ",  # Breakpad .sym
)


class DebugFileError(Exception):
    """An upload with nothing usable in it; the message is meant for the uploader."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class FoundDebugFile:
    kind: str  # "macho", "elf", "breakpad" or "proguard"
    debug_id: str  # lowercase dashed UUID, optionally with an age suffix; mapping UUID for proguard
    code_id: str | None
    arch: str  # "" for proguard
    object_name: str  # path of the file inside the upload
    features: list[str]  # sorted: "symtab", "debug", "unwind", "sources", "mapping", "line_info"
    data: bytes = field(repr=False)  # the single file to store


@dataclass
class InspectionResult:
    found: list[FoundDebugFile]
    # One readable line per file of the upload that was skipped, with the reason.
    skipped: list[str]


def inspect_debug_file(data: bytes, filename: str, mapping_uuid: str | None = None) -> list[FoundDebugFile]:
    """Return every usable debug file in an upload.

    A mapping uploaded with `mapping_uuid` is returned under that UUID and under its
    content UUID. Raises DebugFileError when nothing in the upload is usable.
    """
    result = inspect_upload(data, filename, mapping_uuid)
    if result.found:
        return result.found
    if len(result.skipped) == 1:
        raise DebugFileError(result.skipped[0])
    shown = result.skipped[:_MAX_SKIPPED_SHOWN]
    more = len(result.skipped) - len(shown)
    suffix = f"; and {more} more file(s) like these" if more > 0 else ""
    raise DebugFileError(f"{filename} contains no usable debug file: " + "; ".join(shown) + suffix)


# A zip of many unrelated files (an .ipa, a .jar) would otherwise give a
# message with one reason per file.
_MAX_SKIPPED_SHOWN = 3


def inspect_upload(data: bytes, filename: str, mapping_uuid: str | None = None) -> InspectionResult:
    """Inspect an upload and also report the files in it that were skipped, and why.

    Raises DebugFileError only for problems with the upload as a whole: an empty file, a
    damaged zip, an invalid `mapping_uuid`.
    """
    display_name = posixpath.basename(filename.replace("\\", "/")) or filename
    if not data:
        raise DebugFileError(f"{display_name} is empty.")
    if data.startswith(b"PK\x03\x04") or data.startswith(b"PK\x05\x06"):
        return _inspect_zip(data, display_name)
    if looks_like_mapping(data):
        return _inspect_mapping(data, display_name, mapping_uuid)
    try:
        return InspectionResult(found=_inspect_object_file(data, display_name), skipped=[])
    except DebugFileError as error:
        return InspectionResult(found=[], skipped=[error.message])


def _inspect_mapping(data: bytes, name: str, mapping_uuid: str | None) -> InspectionResult:
    try:
        summary = validate_mapping(data)
    except InvalidMappingError as error:
        return InspectionResult(found=[], skipped=[f"{name} is not a valid ProGuard mapping: {error}."])

    features = ["line_info", "mapping"] if summary.has_line_info else ["mapping"]
    uuids = [mapping_content_uuid(data)]
    if mapping_uuid is not None:
        requested_uuid = _normalize_uuid(mapping_uuid)
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
            data=data,
        )
        for mapping_id in uuids
    ]
    return InspectionResult(found=found, skipped=[])


def _normalize_uuid(value: str) -> str:
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        raise DebugFileError(
            f"The mapping UUID {value!r} is not a valid UUID; expected a form like "
            "3828bd45-950f-5e77-9737-b6b3a1d80299."
        ) from None


def _inspect_object_file(data: bytes, name: str) -> list[FoundDebugFile]:
    """Open a Mach-O, ELF or Breakpad file and check that each object yields a SymCache."""
    try:
        archive = Archive.from_bytes(data)
        objects = list(archive.iter_objects())
    except SymbolicError as error:
        raise DebugFileError(
            f"{name} is not a supported debug file (dSYM zip, Mach-O, ELF, Breakpad .sym or "
            f"ProGuard mapping), or it is damaged: {_first_line(error)}."
        ) from None
    if not objects:
        raise DebugFileError(f"{name} contains no object file.")

    found = []
    for obj in objects:
        found.append(_describe_object(obj, data, name))
    return found


def _describe_object(obj: Object, data: bytes, name: str) -> FoundDebugFile:
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
        obj.make_symcache()
    except SymbolicError as error:
        raise DebugFileError(f"{label} is damaged: {_first_line(error)}.") from None
    return FoundDebugFile(
        kind=kind,
        debug_id=obj.debug_id,
        code_id=obj.code_id,
        arch=obj.arch,
        object_name=name,
        features=features,
        data=data,
    )


def _inspect_zip(data: bytes, name: str) -> InspectionResult:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [info for info in archive.infolist() if _is_candidate_member(info)]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError) as error:
        raise DebugFileError(f"{name} is not a valid zip archive: {error}.") from None

    dsym_members = [info for info in members if _DSYM_DWARF_MEMBER.search(info.filename)]
    if dsym_members:
        members = dsym_members
    declared_size = sum(info.file_size for info in members)
    if declared_size > MAX_UNZIPPED_BYTES:
        raise DebugFileError(
            f"{name} unpacks to {declared_size} bytes, more than the limit of "
            f"{MAX_UNZIPPED_BYTES} bytes; upload the dSYMs in several zips."
        )

    result = InspectionResult(found=[], skipped=[])
    with archive:
        for info in members:
            _inspect_zip_member(archive, info, is_dsym=bool(dsym_members), result=result)
    if not result.found and not result.skipped:
        raise DebugFileError(f"{name} contains no dSYM bundle and no debug file.")
    for reason in result.skipped:
        logger.info("Skipped a file in upload %s: %s", name, reason)
    return result


def _is_candidate_member(info: zipfile.ZipInfo) -> bool:
    path = info.filename
    base = posixpath.basename(path)
    return not (info.is_dir() or path.startswith("__MACOSX/") or base.startswith("._") or base == ".DS_Store")


def _inspect_zip_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, *, is_dsym: bool, result: InspectionResult
) -> None:
    try:
        content = archive.read(info)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        result.skipped.append(f"{info.filename} could not be unpacked: {error}.")
        return
    if not is_dsym and not content.startswith(_OBJECT_MAGICS):
        # Outside dSYM bundles a zip also carries Info.plists, headers and resources.
        return
    try:
        result.found.extend(_inspect_object_file(content, info.filename))
    except DebugFileError as error:
        result.skipped.append(error.message)


def _first_line(error: SymbolicError) -> str:
    text = str(error.message if hasattr(error, "message") else error).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    # symbolic repeats its innermost cause; keep the summary and the first cause.
    return ", ".join(dict.fromkeys(lines[:2]))
