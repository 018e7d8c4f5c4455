"""The database index of uploaded debug files: debug id → stored blob."""

from __future__ import annotations

import threading
import time

from sqlalchemy import select
from sqlalchemy.engine import Engine

from service.db.models import DebugFile
from symbolication import DebugFileRef

_NATIVE_KINDS = ("macho", "elf", "breakpad")
_CACHE_SECONDS = 10.0


def _rank(features: list[str]) -> int:
    """Prefer full debug information, then symbol tables; breakpad files last."""
    return (2 if "debug" in features else 0) + (1 if "symtab" in features else 0)


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
