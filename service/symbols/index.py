"""The database index of uploaded debug files: debug id → stored blob, and dSYM UUID → original UUID."""

from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine

from service.clock import utc_now
from service.db.dialect import insert_for
from service.db.models import DebugFile
from service.db.symbol_source_models import DebugIdMapping
from service.symbols.reprocess import on_debug_files_added
from symbolication import DebugFileRef, SymbolStore
from symbolication.debug_files import DebugFileError, FoundDebugFile, normalize_uuid

_NATIVE_KINDS = ("macho", "elf", "breakpad")
_LOOKUP_KINDS = {"native": _NATIVE_KINDS, "proguard": ("proguard",), "bcsymbolmap": ("bcsymbolmap",)}
# How long a lookup result, found or not, is reused. A file uploaded through another
# process is seen here at most this late.
CACHE_SECONDS = 10.0
# Entries kept per index, so memory stays bounded however many debug ids events name.
CACHE_MAX_ENTRIES = 50_000

_INDEXES: weakref.WeakSet[DebugFileIndex] = weakref.WeakSet()
_INDEXES_LOCK = threading.Lock()


def feature_rank(features: list[str]) -> int:
    """Prefer full debug information, then symbol tables; breakpad files last."""
    rank = 0
    if "debug" in features:
        rank += 2
    if "symtab" in features:
        rank += 1
    return rank


class DebugFileIndex:
    """Looks up debug files per project, with a short, bounded cache of hits and misses.

    A burst of events naming a debug id that was never uploaded costs one query per
    CACHE_SECONDS instead of one per event. save_debug_files() drops the cached results
    for the ids it stores from every index of its process at once. Other processes
    (the workers of `shindan serve`) call sync_with_database() before each batch, and
    otherwise see the file when their cached miss expires, after CACHE_SECONDS at most.
    """

    def __init__(self, engine: Engine, ttl_seconds: float = CACHE_SECONDS, max_entries: int = CACHE_MAX_ENTRIES) -> None:
        self._engine = engine
        self._ttl = ttl_seconds
        self._max_entries = max_entries
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[int, str, str], tuple[float, DebugFileRef | None]] = OrderedDict()
        self.queries = 0
        self._newest_file_id = 0
        with _INDEXES_LOCK:
            _INDEXES.add(self)

    def find(self, project_id: int, kind: str, debug_id: str) -> DebugFileRef | None:
        """Return the best stored file of `kind` ("native", "proguard" or "bcsymbolmap") for a debug id."""
        key = (project_id, kind, debug_id.lower())
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and cached[0] > now:
                self._cache.move_to_end(key)
                return cached[1]
        found = self._query(project_id, kind, debug_id.lower())
        with self._lock:
            self.queries += 1
            self._cache[key] = (now + self._ttl, found)
            self._cache.move_to_end(key)
            while len(self._cache) > self._max_entries:
                self._cache.popitem(last=False)
        return found

    def sync_with_database(self) -> None:
        """Drop every cached result when another process stored a debug file since the last call.

        Workers call this once per batch: one query on the debug file table's
        primary key, so an upload handled by `serve` reaches the next batch
        instead of waiting for the cached misses to expire.
        """
        with self._engine.connect() as connection:
            newest = connection.execute(select(func.max(DebugFile.id))).scalar_one_or_none() or 0
        with self._lock:
            if newest != self._newest_file_id:
                self._newest_file_id = newest
                self._cache.clear()

    def forget(self, project_id: int, debug_ids: Iterable[str] | None = None) -> None:
        """Drop cached results of a project, only those for `debug_ids` when given."""
        requested_ids = None if debug_ids is None else {debug_id.lower() for debug_id in debug_ids}
        with self._lock:
            stale = [key for key in self._cache if key[0] == project_id and (requested_ids is None or key[2] in requested_ids)]
            for key in stale:
                del self._cache[key]

    def __len__(self) -> int:
        with self._lock:
            return len(self._cache)

    def _query(self, project_id: int, kind: str, debug_id: str) -> DebugFileRef | None:
        kinds = _LOOKUP_KINDS.get(kind)
        if kinds is None:
            raise ValueError(f"Unknown debug file lookup kind {kind!r}; expected one of {sorted(_LOOKUP_KINDS)}.")
        with self._engine.connect() as connection:
            debug_ids = [debug_id]
            if kind == "bcsymbolmap":
                debug_ids += original_debug_ids(connection, project_id, debug_id)
            statement = select(DebugFile.blob_sha256, DebugFile.arch, DebugFile.features, DebugFile.kind).where(
                DebugFile.project_id == project_id,
                DebugFile.debug_id.in_(debug_ids),  # type: ignore[attr-defined]
                DebugFile.kind.in_(kinds),  # type: ignore[attr-defined]
            )
            rows = connection.execute(statement).all()
        if not rows:
            return None
        best = max(rows, key=lambda row: (feature_rank(row.features.split()), row.kind != "breakpad"))
        return DebugFileRef(sha256=best.blob_sha256, arch=best.arch or None, features=best.features.split(), kind=best.kind)


def original_debug_ids(connection: Connection, project_id: int, debug_id: str) -> list[str]:
    """Return the original build UUIDs that a dSYM's UUID plists name for `debug_id`."""
    rows = connection.execute(
        select(DebugIdMapping.original_debug_id).where(
            DebugIdMapping.project_id == project_id, DebugIdMapping.debug_id == debug_id
        )
    )
    return [row.original_debug_id for row in rows]


def _mapped_debug_ids(connection: Connection, project_id: int, original_ids: list[str]) -> list[str]:
    if not original_ids:
        return []
    rows = connection.execute(
        select(DebugIdMapping.debug_id).where(
            DebugIdMapping.project_id == project_id,
            DebugIdMapping.original_debug_id.in_(original_ids),  # type: ignore[attr-defined]
        )
    )
    return [row.debug_id for row in rows]


def forget_cached_lookups(project_id: int, debug_ids: Iterable[str]) -> None:
    """Drop cached lookups of these ids from every DebugFileIndex of this process."""
    ids = list(debug_ids)
    with _INDEXES_LOCK:
        indexes = list(_INDEXES)
    for index in indexes:
        index.forget(project_id, ids)


def save_debug_files(
    engine: Engine,
    store: SymbolStore,
    project_id: int,
    found: list[FoundDebugFile],
    aliases: Iterable[str] = (),
) -> list[dict[str, Any]]:
    """Store blobs and index rows, and describe each file. The same content uploaded again is stored once.

    Every ProGuard mapping in `found` is also indexed under each UUID in `aliases`: apps
    built with Sentry's Gradle plugin report a UUID written at build time, not the
    mapping's content UUID. Raises DebugFileError for an alias that is not a UUID.
    SymCaches built while the upload was inspected are installed, so they are not built
    again. A dSYM UUID plist only adds a row to the UUID mapping.
    """
    alias_ids = [normalize_uuid(alias) for alias in aliases]
    if alias_ids and not any(item.kind == "proguard" for item in found):
        raise DebugFileError("A mapping UUID was given, but the upload contains no ProGuard mapping.")
    now = utc_now()
    described: list[dict[str, Any]] = []
    with engine.begin() as connection:
        for item in _with_aliases(found, alias_ids):
            if item.kind == "uuidmap":
                described.append(_save_uuid_mapping(connection, project_id, item, now))
                continue
            sha256 = store.put_staged(item.content)
            created = _insert_debug_file(connection, project_id, item, sha256, now)
            if item.symcache is not None:
                store.install_symcache(sha256, item.arch, item.symcache)
            described.append(_describe(item, sha256, created))
        added_ids = sorted(_added_debug_ids(connection, project_id, found, alias_ids))
        on_debug_files_added(connection, project_id, added_ids)
    forget_cached_lookups(project_id, added_ids)
    return described


def _with_aliases(found: list[FoundDebugFile], alias_ids: list[str]) -> list[FoundDebugFile]:
    result = list(found)
    indexed = {(item.debug_id, item.content.sha256) for item in found}
    for item in found:
        if item.kind != "proguard":
            continue
        for alias in alias_ids:
            if (alias, item.content.sha256) not in indexed:
                indexed.add((alias, item.content.sha256))
                result.append(replace(item, debug_id=alias))
    return result


def _added_debug_ids(
    connection: Connection, project_id: int, found: list[FoundDebugFile], alias_ids: list[str]
) -> set[str]:
    """Return the debug ids whose lookups the upload may change.

    A BCSymbolMap is named after the original build, but events name the dSYM's UUID,
    so the dSYM UUIDs mapped to it are added too.
    """
    added = {item.debug_id.lower() for item in found} | set(alias_ids)
    originals = [item.debug_id.lower() for item in found if item.kind == "bcsymbolmap"]
    added.update(_mapped_debug_ids(connection, project_id, originals))
    return added


def _insert_debug_file(connection: Connection, project_id: int, item: FoundDebugFile, sha256: str, now: Any) -> bool:
    created = connection.execute(
        insert_for(connection, DebugFile)
        .values(
            project_id=project_id,
            kind=item.kind,
            debug_id=item.debug_id.lower(),
            code_id=item.code_id,
            arch=item.arch or "",
            features=" ".join(item.features),
            object_name=item.object_name[:500],
            blob_sha256=sha256,
            size=item.content.size,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["project_id", "debug_id", "arch", "blob_sha256"])
        .returning(DebugFile.id)
    ).scalar_one_or_none()
    return created is not None


def _save_uuid_mapping(connection: Connection, project_id: int, item: FoundDebugFile, now: Any) -> dict[str, Any]:
    assert item.original_debug_id is not None
    created = connection.execute(
        insert_for(connection, DebugIdMapping)
        .values(
            project_id=project_id,
            debug_id=item.debug_id.lower(),
            original_debug_id=item.original_debug_id.lower(),
            object_name=item.object_name[:500],
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["project_id", "debug_id", "original_debug_id"])
        .returning(DebugIdMapping.id)
    ).scalar_one_or_none()
    return {
        "kind": "uuidmap",
        "debug_id": item.debug_id.lower(),
        "original_debug_id": item.original_debug_id.lower(),
        "object_name": item.object_name,
        "created": created is not None,
    }


def _describe(item: FoundDebugFile, sha256: str, created: bool) -> dict[str, Any]:
    return {
        "kind": item.kind,
        "debug_id": item.debug_id.lower(),
        "code_id": item.code_id,
        "arch": item.arch or None,
        "features": list(item.features),
        "object_name": item.object_name,
        "sha256": sha256,
        "size": item.content.size,
        "created": created,
    }
