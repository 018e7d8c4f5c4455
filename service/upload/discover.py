"""Find debug files on disk and read their ids with symbolic.

Walks `.xcarchive` folders (their `dSYMs/` and `BCSymbolMaps/`), `.dSYM` bundles, zips of
dSYMs, build trees with Mach-O and ELF binaries, Breakpad `.sym` files, BCSymbolMaps and
ProGuard/R8 mappings. Files are recognized by their first bytes, so a large build tree
costs one small read per file. Only recognized files are opened with symbolic, which
memory-maps them.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import struct
import uuid
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from symbolic.debuginfo import Archive
from symbolic.exceptions import SymbolicError

from symbolication.bitcode import uuid_from_file_name
from symbolication.proguard_mapping import looks_like_mapping

NIL_DEBUG_ID = "00000000-0000-0000-0000-000000000000"
NATIVE_KINDS = ("macho", "elf", "breakpad")
# Kinds that are usable as they are: they have no stripped or unstripped variants.
TEXT_KINDS = ("proguard", "bcsymbolmap")

# sentry-cli and symbolic name a mapping by uuid5 of its bytes in this namespace.
_MAPPING_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_DNS, "guardsquare.com")
_MAPPING_LINE_RANGE = re.compile(rb"\n[ \t]+\d+:\d+:")
_MAPPING_SNIFF_BYTES = 64 * 1024
_HEAD_BYTES = 32
_COPY_CHUNK = 1024 * 1024

_DSYM_DWARF_MEMBER = re.compile(r"(?:^|/)[^/]+\.dSYM/Contents/Resources/DWARF/[^/]+$", re.IGNORECASE)
_DSYM_BUNDLE_PREFIX = re.compile(r"^(.*?[^/]+\.dSYM/)", re.IGNORECASE)
_SKIPPED_DIRECTORIES = {".git", ".svn", ".hg"}

_MACHO_THIN_MAGICS = {
    b"\xce\xfa\xed\xfe": "<",  # 32-bit, little-endian
    b"\xcf\xfa\xed\xfe": "<",  # 64-bit, little-endian
    b"\xfe\xed\xfa\xce": ">",
    b"\xfe\xed\xfa\xcf": ">",
}
_MACHO_FAT_MAGICS = (b"\xca\xfe\xba\xbe", b"\xca\xfe\xba\xbf")
_MH_OBJECT = 1
_ELF_LINKED_TYPES = {2, 3}  # ET_EXEC, ET_DYN; ET_REL (.o) and ET_CORE hold nothing to upload
# Java class files share the fat Mach-O magic; their next 4 bytes are the class version (45 or more).
_MAX_FAT_ARCHS = 44


@dataclass(frozen=True)
class Location:
    """The place of a debug file: a file on disk, a member of a zip, or a file inside a `.dSYM` bundle."""

    path: Path  # the file on disk; for a zip member, the zip
    member: str | None = None  # path inside the zip
    bundle: Path | None = None  # the `.dSYM` folder that contains `path`

    def __str__(self) -> str:
        return f"{self.path} ({self.member})" if self.member else str(self.path)


@dataclass(frozen=True)
class LocalDebugFile:
    kind: str  # "macho", "elf", "breakpad", "proguard" or "bcsymbolmap"
    debug_id: str  # lowercase; a mapping's content UUID; a BCSymbolMap's original build UUID
    code_id: str | None
    arch: str  # "" for a mapping or a BCSymbolMap
    features: tuple[str, ...]  # sorted symbolic feature names; ("mapping",) or ("line_info", "mapping"); () for a BCSymbolMap
    location: Location
    size: int  # bytes of the file that contains it (extracted, for a zip member)
    extracted: Path | None = None  # temporary copy of a zip member

    @property
    def has_debug_info(self) -> bool:
        return "debug" in self.features or self.kind in TEXT_KINDS

    @property
    def dsym_bundle_in_zip(self) -> str | None:
        """Return the `<name>.dSYM/` prefix of a zip member inside a dSYM bundle, or None."""
        if self.location.member is None:
            return None
        match = _DSYM_BUNDLE_PREFIX.match(self.location.member)
        return match.group(1) if match else None

    def describe(self) -> str:
        arch = f" {self.arch}" if self.arch else ""
        return f"{self.kind}{arch} {self.debug_id}"


@dataclass
class Inventory:
    files: list[LocalDebugFile] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dsym_zips: set[Path] = field(default_factory=set)  # zips whose native debug files are all dSYM members


class Finder:
    """Collects debug files from the paths given on the command line into an Inventory.

    Zip members are extracted into `scratch_dir`, which the caller removes afterwards.
    A path named on the command line must be usable; inside folders, unrecognized files
    are skipped silently and damaged debug files are errors.
    """

    def __init__(self, scratch_dir: Path) -> None:
        self.inventory = Inventory()
        self._scratch_dir = scratch_dir
        self._extracted_count = 0
        self._seen_files: set[tuple[int, int]] = set()
        self._seen_directories: set[tuple[int, int]] = set()

    def add(self, path: Path) -> None:
        before = len(self.inventory.files)
        errors_before = len(self.inventory.errors)
        if not path.exists():
            self.inventory.errors.append(f"{path}: not found")
            return
        if path.is_dir():
            self._add_directory(path)
        else:
            self._add_file(path, named=True)
        found_nothing = len(self.inventory.files) == before and len(self.inventory.errors) == errors_before
        if path.is_dir() and found_nothing:
            self.inventory.warnings.append(f"{path}: no debug files or mappings found in this folder")

    # Folders

    def _add_directory(self, directory: Path) -> None:
        suffix = directory.suffix.lower()
        if suffix == ".xcarchive":
            self._add_xcarchive(directory)
        elif suffix == ".dsym":
            self._add_dsym_bundle(directory)
        else:
            self._walk(directory)

    def _walk(self, top: Path) -> None:
        if not self._first_visit(top, self._seen_directories):
            return
        for current, directory_names, file_names in os.walk(top, followlinks=True, onerror=self._walk_error):
            base = Path(current)
            kept = []
            for name in sorted(directory_names):
                child = base / name
                if name in _SKIPPED_DIRECTORIES or not self._first_visit(child, self._seen_directories):
                    # A directory seen before is a symlink loop or a second link to the same tree.
                    continue
                if child.suffix.lower() in (".xcarchive", ".dsym"):
                    self._add_directory(child)
                else:
                    kept.append(name)
            directory_names[:] = kept
            for name in sorted(file_names):
                self._add_file(base / name, named=False)

    def _walk_error(self, error: OSError) -> None:
        self.inventory.warnings.append(f"{error.filename}: cannot be read: {error.strerror}")

    def _add_xcarchive(self, archive: Path) -> None:
        dsyms = archive / "dSYMs"
        if dsyms.is_dir():
            self._walk(dsyms)
        else:
            self.inventory.errors.append(
                f"{archive}: has no dSYMs folder; build with DEBUG_INFORMATION_FORMAT = dwarf-with-dsym"
            )
        symbol_maps = archive / "BCSymbolMaps"
        if symbol_maps.is_dir():
            self._walk(symbol_maps)

    def _add_dsym_bundle(self, bundle: Path) -> None:
        resources = bundle / "Contents" / "Resources"
        dwarf_dir = resources / "DWARF"
        dwarf_files = sorted(item for item in dwarf_dir.iterdir() if item.is_file()) if dwarf_dir.is_dir() else []
        if not dwarf_files:
            self.inventory.errors.append(f"{bundle}: not a complete dSYM bundle, Contents/Resources/DWARF/ has no file")
            return
        for dwarf_file in dwarf_files:
            if self._first_visit(dwarf_file, self._seen_files):
                self._inspect_objects(Location(dwarf_file, bundle=bundle), dwarf_file, named=True)

    # Files

    def _add_file(self, path: Path, named: bool) -> None:
        if not self._first_visit(path, self._seen_files):
            return
        try:
            with path.open("rb") as handle:
                head = handle.read(_HEAD_BYTES)
        except OSError as error:
            self._problem(named, f"{path}: cannot be read: {error.strerror}")
            return
        kind = classify_head(head)
        name = path.name.lower()
        if kind == "object":
            self._inspect_objects(Location(path), path, named=True)
        elif kind == "relocatable":
            if named:  # build trees are full of .o files, skipped silently
                self.inventory.errors.append(f"{path}: is a relocatable object file (.o); upload the linked binary or its dSYM")
        elif kind == "zip" and (named or name.endswith(".zip")):
            self._add_zip(path, named)
        elif kind == "breakpad":
            self._inspect_objects(Location(path), path, named=True)
        elif kind == "bcsymbolmap":
            self._add_bcsymbolmap(Location(path), path.name, path.stat().st_size, named)
        elif (named or name.endswith(".txt")) and _sniff_mapping(path):
            self._add_mapping(path)
        elif named:
            self.inventory.errors.append(
                f"{path}: not a supported debug file (dSYM, zip of dSYMs, .xcarchive, Mach-O, ELF, Breakpad .sym or ProGuard mapping)"
            )

    def _add_mapping(self, path: Path) -> None:
        try:
            content_uuid, has_line_info, size = _hash_mapping(path)
        except OSError as error:
            self.inventory.errors.append(f"{path}: cannot be read: {error.strerror}")
            return
        features = ("line_info", "mapping") if has_line_info else ("mapping",)
        if not has_line_info:
            self.inventory.warnings.append(
                f"{path}: the mapping has no line numbers, so deobfuscated frames get no line; "
                "keep them with -keepattributes LineNumberTable,SourceFile"
            )
        self.inventory.files.append(LocalDebugFile("proguard", content_uuid, None, "", features, Location(path), size))

    def _add_bcsymbolmap(self, location: Location, name: str, size: int, named: bool, extracted: Path | None = None) -> None:
        original_uuid = uuid_from_file_name(name)
        if original_uuid is None:
            self._problem(named, f"{location}: a BCSymbolMap must keep the name Xcode gives it, <UUID>.bcsymbolmap")
            return
        self.inventory.files.append(LocalDebugFile("bcsymbolmap", original_uuid, None, "", (), location, size, extracted))

    def _add_zip(self, path: Path, named: bool) -> None:
        try:
            with zipfile.ZipFile(path) as archive:
                members = [info for info in archive.infolist() if not info.is_dir() and not _is_resource_fork(info.filename)]
                dsym_members = [info for info in members if _DSYM_DWARF_MEMBER.search(info.filename)]
                symbol_maps = [info for info in members if info.filename.lower().endswith(".bcsymbolmap")]
                if dsym_members:
                    self.inventory.dsym_zips.add(path)
                    chosen = dsym_members
                else:
                    chosen = [info for info in members if info not in symbol_maps and _member_is_object(archive, info)]
                if not chosen and not symbol_maps:
                    self._problem(named, f"{path}: the zip contains no dSYM bundle, BCSymbolMap, Mach-O or ELF file")
                    return
                for info in chosen + symbol_maps:
                    self._add_zip_member(archive, path, info)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, zlib.error) as error:
            self.inventory.errors.append(f"{path}: not a valid zip archive: {error}")

    def _add_zip_member(self, archive: zipfile.ZipFile, path: Path, info: zipfile.ZipInfo) -> None:
        location = Location(path, member=info.filename)
        self._extracted_count += 1
        # Member names are not trusted as paths: each member gets its own numbered folder.
        target_dir = self._scratch_dir / str(self._extracted_count)
        target_dir.mkdir(parents=True)
        target = target_dir / (Path(info.filename).name or "member")
        try:
            with archive.open(info) as source, target.open("wb") as sink:
                shutil.copyfileobj(source, sink, _COPY_CHUNK)
        except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as error:
            self.inventory.errors.append(f"{location}: could not be unpacked: {error}")
            return
        if info.filename.lower().endswith(".bcsymbolmap"):
            self._add_bcsymbolmap(location, info.filename, info.file_size, named=True, extracted=target)
        else:
            self._inspect_objects(location, target, named=True, extracted=True)

    def _inspect_objects(self, location: Location, file_path: Path, named: bool, extracted: bool = False) -> None:
        """Record every object (one per architecture) in a Mach-O, ELF or Breakpad file."""
        try:
            size = file_path.stat().st_size
            objects = list(Archive.open(str(file_path)).iter_objects())
        except SymbolicError as error:
            self.inventory.errors.append(f"{location}: damaged or not a valid Mach-O, ELF or Breakpad file: {_first_line(error)}")
            return
        except OSError as error:
            self.inventory.errors.append(f"{location}: cannot be read: {error.strerror}")
            return
        for obj in objects:
            label = f"{location} ({obj.arch})" if len(objects) > 1 else str(location)
            if obj.file_format not in NATIVE_KINDS:
                self._problem(named, f"{label}: is a {obj.file_format} file, which Shindan does not support")
                continue
            if obj.kind == "rel":
                self._problem(named, f"{label}: is a relocatable object file (.o); upload the linked binary or its dSYM")
                continue
            debug_id = str(obj.debug_id).lower()
            if not debug_id or debug_id == NIL_DEBUG_ID:
                self.inventory.warnings.append(f"{label}: not uploaded, it has no debug id (no LC_UUID or build id)")
                continue
            self.inventory.files.append(
                LocalDebugFile(
                    kind=obj.file_format,
                    debug_id=debug_id,
                    code_id=obj.code_id,
                    arch=obj.arch,
                    features=tuple(sorted(obj.features)),
                    location=location,
                    size=size,
                    extracted=file_path if extracted else None,
                )
            )

    def _problem(self, named: bool, message: str) -> None:
        """Record an error for a path named on the command line and a warning for one found in a folder."""
        (self.inventory.errors if named else self.inventory.warnings).append(message)

    @staticmethod
    def _first_visit(path: Path, seen: set[tuple[int, int]]) -> bool:
        try:
            status = path.stat()
        except OSError:
            return False  # a broken symlink
        key = (status.st_dev, status.st_ino)
        if key in seen:
            return False
        seen.add(key)
        return True


def bundle_files(bundle: Path) -> list[Path]:
    """List the files in a `.dSYM` folder, without following symlinks to folders."""
    found: list[Path] = []
    for current, directory_names, file_names in os.walk(bundle):
        directory_names.sort()
        found.extend(Path(current) / name for name in sorted(file_names))
    return [path for path in found if path.is_file()]


def classify_head(head: bytes) -> str | None:
    """Name the kind of file from its first bytes: object, relocatable, zip, breakpad, bcsymbolmap or None."""
    magic = head[:4]
    if magic in _MACHO_THIN_MAGICS and len(head) >= 16:
        (file_type,) = struct.unpack(_MACHO_THIN_MAGICS[magic] + "I", head[12:16])
        return "relocatable" if file_type == _MH_OBJECT else "object"
    if magic in _MACHO_FAT_MAGICS and len(head) >= 8:
        (arch_count,) = struct.unpack(">I", head[4:8])
        return "object" if 0 < arch_count <= _MAX_FAT_ARCHS else None
    if magic == b"\x7fELF" and len(head) >= 18:
        byte_order = "<" if head[5] == 1 else ">"
        (elf_type,) = struct.unpack(byte_order + "H", head[16:18])
        if elf_type in _ELF_LINKED_TYPES:
            return "object"
        return "relocatable" if elf_type == 1 else None
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if head.startswith(b"MODULE "):
        return "breakpad"
    if head.startswith(b"BCSymbolMap Version:"):
        return "bcsymbolmap"
    return None


def mapping_uuid_of_file(path: Path) -> str:
    """Return the UUID `sentry-cli upload-proguard` gives a mapping, reading the file in chunks."""
    return _hash_mapping(path)[0]


def _hash_mapping(path: Path) -> tuple[str, bool, int]:
    digest = hashlib.sha1(_MAPPING_NAMESPACE.bytes)
    has_line_info = False
    size = 0
    tail = b""
    with path.open("rb") as handle:
        while chunk := handle.read(_COPY_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            if not has_line_info:
                # The tail keeps a member line that a chunk boundary cut in two.
                has_line_info = _MAPPING_LINE_RANGE.search(tail + chunk) is not None
                tail = chunk[-64:]
    return str(uuid.UUID(bytes=digest.digest()[:16], version=5)), has_line_info, size


def _sniff_mapping(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return looks_like_mapping(handle.read(_MAPPING_SNIFF_BYTES))
    except OSError:
        return False


def _member_is_object(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    with archive.open(info) as member:
        return classify_head(member.read(_HEAD_BYTES)) == "object"


def _is_resource_fork(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    return name.startswith("__MACOSX/") or base.startswith("._") or base == ".DS_Store"


def _first_line(error: SymbolicError) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return ", ".join(dict.fromkeys(lines[:2])) or type(error).__name__
