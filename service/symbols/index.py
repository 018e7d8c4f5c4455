"""The database index of uploaded debug files: debug id → stored blob."""

from __future__ import annotations

import threading
import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from service.clock import utc_now
from service.db.dialect import insert_for
from service.db.models import DebugFile
from symbolication import DebugFileRef, SymbolStore
from symbolication.debug_files import FoundDebugFile

_NATIVE_KINDS = ("macho", "elf", "breakpad")
_CACHE_SECONDS = 10.0


def _rank(features: list[str]) -> int:
    """Prefer full debug information, then symbol tables; breakpad files last."""
    rank = 0
    if "debug" in features:
        rank += 2
    if "symtab" in features:
        rank += 1
    return rank


class DebugFileIndex:
    """Looks up debug files per project, with a short cache of hits and misses.

    A file uploaded through another process is seen here within ``_CACHE_SECONDS``;
    uploads through this process call ``forget`` at once.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._cache: dict[tuple[int, str, str], tuple[float, DebugFileRef | None]] = {}

    def find(self, project_id: int, kind: str, debug_id: str) -> DebugFileRef | None:
        key = (project_id, kind, debug_id.lower())
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        found = self._query(project_id, kind, debug_id.lower())
        with self._lock:
            if len(self._cache) > 50000:
                self._cache.clear()
            self._cache[key] = (now + _CACHE_SECONDS, found)
        return found

    def forget(self, project_id: int) -> None:
        with self._lock:
            for key in [key for key in self._cache if key[0] == project_id]:
                del self._cache[key]

    def _query(self, project_id: int, kind: str, debug_id: str) -> DebugFileRef | None:
        kinds = _NATIVE_KINDS if kind == "native" else ("proguard",)
        statement = select(DebugFile.blob_sha256, DebugFile.arch, DebugFile.features, DebugFile.kind).where(
            DebugFile.project_id == project_id,
            DebugFile.debug_id == debug_id,
            DebugFile.kind.in_(kinds),  # type: ignore[attr-defined]
        )
        with self._engine.connect() as connection:
            rows = connection.execute(statement).all()
        if not rows:
            return None
        best = max(rows, key=lambda row: (_rank(row.features.split()), row.kind != "breakpad"))
        return DebugFileRef(sha256=best.blob_sha256, arch=best.arch or None, features=best.features.split())


def save_debug_files(engine: Engine, store: SymbolStore, project_id: int, found: list[FoundDebugFile]) -> list[dict[str, Any]]:
    """Store blobs and index rows, and describe each file; the same content uploaded again is stored once."""
    now = utc_now()
    described: list[dict[str, Any]] = []
    with engine.begin() as connection:
        for item in found:
            sha256 = store.put_blob(item.data)
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
                    size=len(item.data),
                    created_at=now,
                )
                .on_conflict_do_nothing(index_elements=["project_id", "debug_id", "arch", "blob_sha256"])
                .returning(DebugFile.id)
            ).scalar_one_or_none()
            described.append(
                {
                    "kind": item.kind,
                    "debug_id": item.debug_id.lower(),
                    "code_id": item.code_id,
                    "arch": item.arch or None,
                    "features": list(item.features),
                    "object_name": item.object_name,
                    "sha256": sha256,
                    "size": len(item.data),
                    "created": created is not None,
                }
            )
    return described
