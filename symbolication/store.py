"""Content-addressed store of debug files and of the SymCaches built from them.

Layout under the store's root directory:

    blobs/<sha256[:2]>/<sha256>                            an uploaded file, as stored
    symcaches/<SYMCACHE_FORMAT_KEY>/<sha256>/<arch>.symc   SymCache of one object of a blob
    symcaches/<SYMCACHE_FORMAT_KEY>/<sha256>/<arch>.error  why that SymCache could not be built
    symcaches/<SYMCACHE_FORMAT_KEY>/<sha256>/<arch>.lock   taken while that SymCache is built
    staging/upload-*/                                      files of uploads in progress

Every file is written to a temporary name and renamed into place, so readers never see a
partial file. A SymCache is built by one process at a time: the builder holds an fcntl
lock on the `.lock` file, and a process that finds the lock taken waits for it and then
opens the finished file. A SymCache file that symbolic cannot open (truncated, damaged)
is rebuilt the same way. A failed build is recorded in the `.error` file and not retried
until the key changes, and it leaves no `.symc` file behind.

SYMCACHE_FORMAT_KEY changes when SYMCACHE_REVISION or symbolic's SymCache format version
changes. Files under another key are ignored, so they are rebuilt lazily on first use.
remove_stale_files(), which the first build of each SymbolStore runs, deletes key
directories unchanged for STALE_KEY_SECONDS.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from symbolic.debuginfo import Archive, Object
from symbolic.exceptions import SymbolicError
from symbolic.proguard import ProguardMapper
from symbolic.symcache import SYMCACHE_LATEST_VERSION, SymCache

from service.metrics import COUNTERS
from symbolication.bitcode import BcSymbolMap, BitcodeFileError
from symbolication.cache import CachedLoader
from symbolication.proguard_mapping import LazyMappingLayout
from symbolication.staging import StagedFile, UploadWorkspace

logger = logging.getLogger("shindan.symbols")

# Bump SYMCACHE_REVISION whenever what Shindan writes into a SymCache changes, and add a line.
SYMCACHE_REVISION = 1
SYMCACHE_CHANGELOG = {
    1: "symbolic 13.9.0 SymCache of one object (one arch) of a blob, built from the blob as uploaded.",
}
SYMCACHE_FORMAT_KEY = f"r{SYMCACHE_REVISION}-sc{SYMCACHE_LATEST_VERSION}"

# Another key's directory stays this long after its last change, for processes of an
# older release that still run during a rolling upgrade.
STALE_KEY_SECONDS = 24 * 3600
# Upload workspaces left behind by a process that died during an upload.
STALE_STAGING_SECONDS = 24 * 3600
DEFAULT_MAX_OPEN_BYTES = 2 * 1024**3

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_ARCH_NAME = re.compile(r"[A-Za-z0-9_]+")
_ANY_ARCH_KEY = "_any"

COUNTERS.describe("shindan_symcache_builds_total", "SymCaches built from debug files, by where the build happened")
COUNTERS.describe("shindan_symbol_cache_evictions_total", "Open symbol files dropped from memory, by cache and bound")


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
    size: int = 0


@dataclass(frozen=True)
class _OpenSymCache:
    symcache: SymCache
    size: int


@dataclass(frozen=True)
class _OpenBcSymbolMap:
    symbol_map: BcSymbolMap
    size: int


class SymbolStore:
    """Blobs on the local file system, with SymCaches and mappers opened through bounded LRUs.

    `max_open` bounds the number of open SymCaches and, separately, of open ProGuard
    mappers and BCSymbolMaps. `max_open_bytes` bounds each of these caches by the size of
    the files behind its entries: a SymCache is memory-mapped, so its file size is what
    it can occupy in memory. All methods are safe to call from several threads, and
    SymCache builds are safe across processes that share the root directory.
    """

    def __init__(self, root: Path, max_open: int = 64, max_open_bytes: int | None = DEFAULT_MAX_OPEN_BYTES) -> None:
        self.root = Path(root)
        self._blob_root = self.root / "blobs"
        self._symcache_root = self.root / "symcaches" / SYMCACHE_FORMAT_KEY
        self._staging_root = self.root / "staging"
        self._symcaches: CachedLoader[_OpenSymCache] = _bounded_loader("symcache", max_open, max_open_bytes)
        self._mappings: CachedLoader[ProguardMapping] = _bounded_loader("proguard", max_open, max_open_bytes)
        self._symbol_maps: CachedLoader[_OpenBcSymbolMap] = _bounded_loader("bcsymbolmap", max_open, max_open_bytes)
        self._counter_lock = threading.Lock()
        self.symcache_builds = 0
        self._cleaned = False

    # Blobs

    def put_blob(self, data: bytes) -> str:
        """Store `data` under its SHA-256 (hex) unless already stored, and return the hash."""
        digest = hashlib.sha256(data).hexdigest()
        path = self.blob_path(digest)
        if not path.exists():
            _write_atomically(path, data)
        return digest

    def put_staged(self, staged: StagedFile) -> str:
        """Store a staged upload file under its SHA-256 unless already stored, and return the hash.

        The file is hard-linked into place when the workspace is on the store's file
        system, and copied otherwise.
        """
        path = self.blob_path(staged.sha256)
        if not path.exists():
            _install_file(staged.path, path)
        return staged.sha256

    def blob_path(self, sha256: str) -> Path:
        _check_sha256(sha256)
        return self._blob_root / sha256[:2] / sha256

    def has_blob(self, sha256: str) -> bool:
        return self.blob_path(sha256).is_file()

    def new_workspace(self) -> UploadWorkspace:
        """Return a workspace for one upload, on the same file system as the blobs."""
        return UploadWorkspace(self._staging_root)

    # SymCaches

    def symcache_path(self, sha256: str, arch: str | None) -> Path:
        _check_sha256(sha256)
        return self._symcache_root / sha256 / f"{_arch_key(arch)}.symc"

    def symcache(self, sha256: str, arch: str | None) -> SymCache:
        """Return the SymCache for the object of `arch` in a blob, building it on first use.

        `arch` may be None or "" when the blob contains a single object. Raises
        SymbolFileError when the blob is missing or cannot produce a SymCache.
        """
        path = self.symcache_path(sha256, arch)
        opened = self._symcaches.get((sha256, _arch_key(arch)), lambda: self._load_symcache(sha256, arch, path))
        return opened.symcache

    def install_symcache(self, sha256: str, arch: str | None, built: Path) -> bool:
        """Put a SymCache built elsewhere (while an upload was checked) in place, unless a good one exists.

        Returns whether the file was installed. Clears a recorded build failure for the
        same key, because the object has just produced a SymCache.
        """
        path = self.symcache_path(sha256, arch)
        with _file_lock(path.with_suffix(".lock")):
            if _open_symcache_file(path) is not None:
                return False
            _install_file(built, path)
            path.with_suffix(".error").unlink(missing_ok=True)
        self._symcaches.discard((sha256, _arch_key(arch)))
        COUNTERS.inc("shindan_symcache_builds_total", stage="upload")
        return True

    @property
    def open_symcaches(self) -> int:
        """Number of SymCaches, and of cached build failures, held in memory."""
        return len(self._symcaches)

    @property
    def open_symcache_bytes(self) -> int:
        """Total size of the SymCache files held open."""
        return self._symcaches.total_bytes

    def _load_symcache(self, sha256: str, arch: str | None, path: Path) -> _OpenSymCache:
        opened = _open_symcache_file(path)
        if opened is not None:
            return opened
        error_path = path.with_suffix(".error")
        if error_path.is_file():
            raise SymbolFileError(error_path.read_text(encoding="utf-8"))
        blob = self.blob_path(sha256)
        if not blob.is_file():
            raise MissingBlobError(f"Debug file {sha256} is not in the symbol store.")

        with _file_lock(path.with_suffix(".lock")):
            # Another process may have finished the build while this one waited.
            opened = _open_symcache_file(path)
            if opened is not None:
                return opened
            if error_path.is_file():
                raise SymbolFileError(error_path.read_text(encoding="utf-8"))
            if path.exists():
                logger.warning("Rebuilding SymCache %s, which symbolic cannot open", path)
            try:
                self._build_symcache(blob, arch, path)
            except SymbolFileError as error:
                _write_atomically(error_path, error.message.encode("utf-8"))
                path.unlink(missing_ok=True)
                raise
        opened = _open_symcache_file(path)
        if opened is None:
            raise SymbolFileError(f"The SymCache built for debug file {sha256} cannot be opened.")
        return opened

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
            clean = not self._cleaned
            self._cleaned = True
        COUNTERS.inc("shindan_symcache_builds_total", stage="lookup")
        if clean:
            # Builds are rare and already slow, so the first one of a store also tidies up.
            self.remove_stale_files()
        temporary = _temporary_path(path)
        temporary.parent.mkdir(parents=True, exist_ok=True)
        try:
            with temporary.open("wb") as file:
                symcache.dump_into(file)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)

    # ProGuard mappings and BCSymbolMaps

    def proguard_mapper(self, sha256: str) -> ProguardMapper:
        """Return the ProGuard mapper of a blob. Raises SymbolFileError when the blob is missing."""
        return self.proguard_mapping(sha256).mapper

    def proguard_mapping(self, sha256: str) -> ProguardMapping:
        """Return a blob's ProGuard mapper with the index of its class sections."""
        path = self.blob_path(sha256)
        return self._mappings.get(sha256, lambda: self._open_mapping(sha256, path))

    def bcsymbolmap(self, sha256: str) -> BcSymbolMap:
        """Return the parsed BCSymbolMap of a blob. Raises SymbolFileError when it is missing or invalid."""
        path = self.blob_path(sha256)
        return self._symbol_maps.get(sha256, lambda: _open_bcsymbolmap(sha256, path)).symbol_map

    @property
    def open_mappers(self) -> int:
        """Number of ProGuard mappers, and of cached failures, held in memory."""
        return len(self._mappings)

    def _open_mapping(self, sha256: str, path: Path) -> ProguardMapping:
        if not path.is_file():
            raise MissingBlobError(f"ProGuard mapping {sha256} is not in the symbol store.")
        try:
            mapper = ProguardMapper.open(str(path))
        except SymbolicError as error:
            raise SymbolFileError(f"ProGuard mapping {sha256} cannot be read: {error.message}") from None
        return ProguardMapping(mapper=mapper, layout=LazyMappingLayout(path), size=path.stat().st_size)

    # Housekeeping

    def remove_stale_files(self, now: float | None = None) -> list[Path]:
        """Delete SymCache directories of other format keys and abandoned upload workspaces.

        Only directories unchanged for STALE_KEY_SECONDS (STALE_STAGING_SECONDS for
        workspaces) are removed. Returns the removed directories.
        """
        current_time = time.time() if now is None else now
        removed = []
        candidates = [
            (path, STALE_KEY_SECONDS)
            for path in _subdirectories(self.root / "symcaches")
            if path.name != SYMCACHE_FORMAT_KEY
        ]
        candidates += [(path, STALE_STAGING_SECONDS) for path in _subdirectories(self._staging_root)]
        for path, max_age in candidates:
            try:
                age = current_time - path.stat().st_mtime
            except FileNotFoundError:
                continue
            if age > max_age:
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
                logger.info("Removed stale symbol store directory %s", path)
        return removed


def _bounded_loader(cache_name: str, max_open: int, max_open_bytes: int | None) -> CachedLoader[Any]:
    """Return a CachedLoader bounded by count and bytes whose evictions are counted per cache."""
    return CachedLoader(
        max_open,
        _is_permanent_failure,
        max_bytes=max_open_bytes,
        size_of=lambda opened: int(opened.size),
        on_evict=lambda bound: COUNTERS.inc("shindan_symbol_cache_evictions_total", cache=cache_name, bound=bound),
    )


def _open_symcache_file(path: Path) -> _OpenSymCache | None:
    """Open a SymCache file, or return None when it is missing or symbolic rejects it.

    symbolic checks the header and that every section the header announces fits in the
    file, so a truncated file is rejected here.
    """
    try:
        size = path.stat().st_size
        return _OpenSymCache(symcache=SymCache.open(str(path)), size=size)
    except FileNotFoundError:
        return None
    except SymbolicError as error:
        logger.warning("SymCache %s cannot be opened: %s", path, error)
        return None


def _open_bcsymbolmap(sha256: str, path: Path) -> _OpenBcSymbolMap:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise MissingBlobError(f"BCSymbolMap {sha256} is not in the symbol store.") from None
    try:
        return _OpenBcSymbolMap(symbol_map=BcSymbolMap.parse(data), size=len(data))
    except BitcodeFileError as error:
        raise SymbolFileError(f"BCSymbolMap {sha256} cannot be read: {error}") from None


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive fcntl lock on `path`, waiting for another holder to release it.

    The kernel releases the lock when its holder exits, so a crashed builder never leaves
    it taken. Lock files are not deleted: unlinking a lock file while another process
    waits on it would let two processes hold "the" lock at once.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+b") as file:
        fcntl.flock(file.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(file.fileno(), fcntl.LOCK_UN)


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


def _subdirectories(path: Path) -> list[Path]:
    try:
        return [child for child in path.iterdir() if child.is_dir()]
    except FileNotFoundError:
        return []


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


def _install_file(source: Path, path: Path) -> None:
    """Put a copy of `source` at `path` atomically: a hard link when possible, else a copy."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = _temporary_path(path)
    try:
        try:
            os.link(source, temporary)
        except OSError:
            shutil.copyfile(source, temporary)
            with temporary.open("rb+") as file:
                os.fsync(file.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
