"""Content-addressed store of debug files and of the SymCaches built from them.

Layout under the store's root directory:

    blobs/<sha256[:2]>/<sha256>                            an uploaded file, as stored
    symcaches/<SYMCACHE_FORMAT_KEY>/<sha256>/<arch>.symc   SymCache of one object of a blob
    symcaches/<SYMCACHE_FORMAT_KEY>/<sha256>/<arch>.error  why that SymCache could not be built

Every file is written to a temporary name and renamed into place, so readers never see a
partial file, and several processes may build the same SymCache at once without harm.
Failed builds are recorded in the `.error` file and not retried until the key changes.

SYMCACHE_FORMAT_KEY changes when Shindan's build revision or symbolic's SymCache format
version changes, so files from an older build are ignored and rebuilt. Changelog:

    r1-sc9   first layout: symbolic 13.9.0, SymCache format version 9, one file per arch.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

from symbolic.debuginfo import Archive, Object
from symbolic.exceptions import SymbolicError
from symbolic.proguard import ProguardMapper
from symbolic.symcache import SYMCACHE_LATEST_VERSION, SymCache

from symbolication.cache import CachedLoader
from symbolication.proguard_mapping import LazyMappingLayout

logger = logging.getLogger("shindan.symbols")

SYMCACHE_REVISION = 1
SYMCACHE_FORMAT_KEY = f"r{SYMCACHE_REVISION}-sc{SYMCACHE_LATEST_VERSION}"

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_ARCH_NAME = re.compile(r"[A-Za-z0-9_]+")
_ANY_ARCH_KEY = "_any"


class SymbolFileError(Exception):
    """A stored debug file that cannot produce a SymCache or a ProGuard mapper."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MissingBlobError(SymbolFileError):
    """The store has no blob with the requested SHA-256."""


@dataclass(frozen=True)
class ProguardMapping:
    mapper: ProguardMapper
    layout: LazyMappingLayout


class SymbolStore:
    """Blobs on the local file system, with SymCaches and mappers opened through bounded LRUs.

    `max_open` bounds the open SymCaches and, separately, the open ProGuard mappers. All
    methods are safe to call from several threads. The SymCache or mapper of one key is
    built or opened by one thread while the others asking for it wait.
    """

    def __init__(self, root: Path, max_open: int = 64) -> None:
        self.root = Path(root)
        self._blob_root = self.root / "blobs"
        self._symcache_root = self.root / "symcaches" / SYMCACHE_FORMAT_KEY
        self._symcaches: CachedLoader[SymCache] = CachedLoader(max_open, _is_permanent_failure)
        self._mappings: CachedLoader[ProguardMapping] = CachedLoader(max_open, _is_permanent_failure)
        self._counter_lock = threading.Lock()
        self.symcache_builds = 0

    def put_blob(self, data: bytes) -> str:
        """Store `data` under its SHA-256 (hex) unless already stored, and return the hash."""
        digest = hashlib.sha256(data).hexdigest()
        path = self.blob_path(digest)
        if not path.exists():
            _write_atomically(path, data)
        return digest

    def blob_path(self, sha256: str) -> Path:
        _check_sha256(sha256)
        return self._blob_root / sha256[:2] / sha256

    def has_blob(self, sha256: str) -> bool:
        return self.blob_path(sha256).is_file()

    def symcache_path(self, sha256: str, arch: str | None) -> Path:
        _check_sha256(sha256)
        return self._symcache_root / sha256 / f"{_arch_key(arch)}.symc"

    def symcache(self, sha256: str, arch: str | None) -> SymCache:
        """Return the SymCache for the object of `arch` in a blob, building it on first use.

        `arch` may be None or "" when the blob contains a single object. Raises
        SymbolFileError when the blob is missing or cannot produce a SymCache.
        """
        path = self.symcache_path(sha256, arch)
        return self._symcaches.get((sha256, _arch_key(arch)), lambda: self._load_symcache(sha256, arch, path))

    def proguard_mapper(self, sha256: str) -> ProguardMapper:
        """Return the ProGuard mapper of a blob. Raises SymbolFileError when the blob is missing."""
        return self.proguard_mapping(sha256).mapper

    def proguard_mapping(self, sha256: str) -> ProguardMapping:
        """Return a blob's ProGuard mapper with the index of its class sections."""
        path = self.blob_path(sha256)
        return self._mappings.get(sha256, lambda: self._open_mapping(sha256, path))

    @property
    def open_symcaches(self) -> int:
        """Number of SymCaches, and of cached build failures, held in memory."""
        return len(self._symcaches)

    @property
    def open_mappers(self) -> int:
        """Number of ProGuard mappers, and of cached failures, held in memory."""
        return len(self._mappings)

    def _load_symcache(self, sha256: str, arch: str | None, path: Path) -> SymCache:
        error_path = path.with_suffix(".error")
        if error_path.is_file():
            raise SymbolFileError(error_path.read_text(encoding="utf-8"))
        if path.is_file():
            try:
                return SymCache.open(str(path))
            except SymbolicError as error:
                logger.warning("Rebuilding unreadable SymCache %s: %s", path, error)
        blob = self.blob_path(sha256)
        if not blob.is_file():
            raise MissingBlobError(f"Debug file {sha256} is not in the symbol store.")
        try:
            self._build_symcache(blob, arch, path)
        except SymbolFileError as error:
            _write_atomically(error_path, error.message.encode("utf-8"))
            raise
        return SymCache.open(str(path))

    def _build_symcache(self, blob: Path, arch: str | None, path: Path) -> None:
        logger.info("Building SymCache for %s (%s)", blob.name, arch or "single object")
        try:
            archive = Archive.open(str(blob))
            obj = _select_object(archive, arch, blob.name)
            symcache = obj.make_symcache()
        except SymbolicError as error:
            raise SymbolFileError(f"Debug file {blob.name} cannot be read: {error.message}") from None
        with self._counter_lock:
            self.symcache_builds += 1
        temporary = _temporary_path(path)
        temporary.parent.mkdir(parents=True, exist_ok=True)
        with temporary.open("wb") as file:
            symcache.dump_into(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)

    def _open_mapping(self, sha256: str, path: Path) -> ProguardMapping:
        if not path.is_file():
            raise MissingBlobError(f"ProGuard mapping {sha256} is not in the symbol store.")
        try:
            mapper = ProguardMapper.open(str(path))
        except SymbolicError as error:
            raise SymbolFileError(f"ProGuard mapping {sha256} cannot be read: {error.message}") from None
        return ProguardMapping(mapper=mapper, layout=LazyMappingLayout(path))


def _select_object(archive: Archive, arch: str | None, blob_name: str) -> Object:
    objects = list(archive.iter_objects())
    if arch:
        for obj in objects:
            if obj.arch == arch:
                return obj
    elif len(objects) == 1:
        return objects[0]
    available = ", ".join(obj.arch for obj in objects) or "none"
    raise SymbolFileError(
        f"Debug file {blob_name} has no object for architecture {arch or '(any)'}; it contains: {available}."
    )


def _is_permanent_failure(error: BaseException) -> bool:
    # A missing blob may still be uploaded; anything else fails the same way next time.
    return isinstance(error, SymbolFileError) and not isinstance(error, MissingBlobError)


def _check_sha256(sha256: str) -> None:
    if not _SHA256_HEX.fullmatch(sha256):
        raise ValueError(f"Invalid blob id {sha256!r}: expected 64 lowercase hex digits.")


def _arch_key(arch: str | None) -> str:
    if not arch:
        return _ANY_ARCH_KEY
    if not _ARCH_NAME.fullmatch(arch):
        raise ValueError(f"Invalid architecture name {arch!r}.")
    return arch


def _temporary_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = _temporary_path(path)
    with temporary.open("wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)
