"""Chunked debug file uploads as sentry-cli sends them: chunk storage on disk and file assembly.

sentry-cli splits each file into chunks named by their SHA-1, queries the assemble
endpoint for the chunks the server lacks, uploads those, and queries it again. The
server joins the chunks, checks the whole file's SHA-1, and indexes the file
through the same path as the multipart upload API (``inspect_staged_upload`` and
``save_debug_files``).

Chunks live in ``<data dir>/chunks/<sha1>`` and are deleted once their file is
assembled. Chunks that no file ever claims are deleted after ``STALE_CHUNK_AGE``.
Assembly state lives in the ``chunk_assembly`` table, so every ``shindan serve``
process sharing the database and the data directory reports the same state.
Files up to ``chunk_assemble_sync_bytes`` are assembled within the assemble
request, so sentry-cli gets ``ok`` at once. Larger files are assembled in a
background thread of the process that received the request, which returns
``created`` (and ``assembling`` on later polls).

NOTE: chunks are shared by content, so when two files in flight contain the same
chunk, the first assembly deletes it and the second one returns ``not_found``
for it, which sentry-cli reports as an error that a rerun fixes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Engine

from service.clock import as_utc, utc_now
from service.db.chunk_models import ChunkAssembly
from service.db.dialect import insert_for
from service.db.models import DebugFile
from service.symbols.index import DebugFileIndex, save_debug_files
from symbolication import SymbolStore
from symbolication.debug_files import DebugFileError, inspect_staged_upload, require_found
from symbolication.staging import StagedFile, UploadTooLargeError, UploadWorkspace, stage_chunks

logger = logging.getLogger("shindan.symbols")

SHA1_HEX = re.compile(r"[0-9a-f]{40}")
_TABLE = ChunkAssembly.__table__  # type: ignore[attr-defined]

# Chunks that no assembled file claimed within this time are deleted. sentry-cli
# assembles right after uploading, so only abandoned uploads get this old.
STALE_CHUNK_AGE = timedelta(hours=24)
# An error is returned from the table for this long, as Sentry caches assemble
# errors. After that the same file may be uploaded and assembled again.
ERROR_STATE_TTL = timedelta(minutes=10)
# A row left in created or assembling this long belongs to a process that died
# during assembly, and the next request for the file starts over.
# NOTE: an assembly that really takes longer than this would be started twice.
ASSEMBLY_TIMEOUT = timedelta(minutes=30)
# Background assemblies running at once in one process.
BACKGROUND_ASSEMBLIES = 2

# sentry-cli 3.x names a ProGuard mapping "/proguard/<uuid>.txt", with the UUID
# it computed or the one forced with --uuid.
_PROGUARD_NAME = re.compile(r"(?:^|/)proguard/([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\.txt$")


class MissingChunkError(Exception):
    def __init__(self, checksum: str) -> None:
        super().__init__(f"chunk {checksum} is not stored")
        self.checksum = checksum


class ChunkStore:
    """Chunks on disk, one file per chunk named by its SHA-1."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)

    def path(self, checksum: str) -> Path:
        if not SHA1_HEX.fullmatch(checksum):
            raise ValueError(f"invalid chunk checksum {checksum!r}")
        return self.directory / checksum

    def put(self, checksum: str, data: bytes) -> None:
        """Write a chunk atomically: readers see the whole chunk or none.

        There is no fsync, because a chunk lost in a power failure shows up as a
        missing chunk or as a SHA-1 mismatch of the assembled file, never as a
        wrong file.
        """
        target = self.path(checksum)
        handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=".tmp-")
        try:
            with os.fdopen(handle, "wb") as output:
                output.write(data)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def missing(self, checksums: list[str]) -> list[str]:
        """Return the checksums without a stored chunk, each once, in request order."""
        return [checksum for checksum in dict.fromkeys(checksums) if not self.path(checksum).is_file()]

    def total_size(self, checksums: list[str]) -> int:
        total = 0
        for checksum in checksums:
            try:
                total += self.path(checksum).stat().st_size
            except FileNotFoundError:
                raise MissingChunkError(checksum) from None
        return total

    def delete(self, checksums: list[str]) -> None:
        for checksum in dict.fromkeys(checksums):
            self.path(checksum).unlink(missing_ok=True)

    def remove_stale(self, now: datetime) -> int:
        """Delete chunks and temporary files older than ``STALE_CHUNK_AGE`` and return how many."""
        cutoff = (now - STALE_CHUNK_AGE).timestamp()
        removed = 0
        for entry in os.scandir(self.directory):
            try:
                if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < cutoff:
                    os.unlink(entry.path)
                    removed += 1
            except FileNotFoundError:
                continue  # deleted by an assembly in the meantime
        return removed


@dataclass(frozen=True)
class AssemblyRequest:
    """One entry of an assemble request: the file's SHA-1, its name and its chunks in order."""

    checksum: str
    name: str
    chunks: list[str]
    debug_id: str | None = None


@dataclass
class AssemblyAnswer:
    """One entry of the assemble response, in the form sentry-cli reads."""

    state: str  # ok, created, assembling, not_found, error
    missing_chunks: list[str] = field(default_factory=list)
    detail: str | None = None
    dif: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {"state": self.state, "missingChunks": self.missing_chunks, "detail": self.detail, "dif": self.dif}


@dataclass(frozen=True)
class _Outcome:
    state: str  # ok or error
    detail: str | None
    dif: dict[str, Any] | None = None
    blob_sha256: str | None = None


class ChunkAssembler:
    """Reports the state of files in assemble requests and assembles them. There is one instance per process."""

    def __init__(
        self,
        engine: Engine,
        store: ChunkStore,
        symbol_store: SymbolStore,
        index: DebugFileIndex,
        max_file_bytes: int,
        sync_bytes: int,
    ) -> None:
        self.engine = engine
        self.store = store
        self.symbol_store = symbol_store
        self.index = index
        self.max_file_bytes = max_file_bytes
        self.sync_bytes = sync_bytes
        self._executor: ThreadPoolExecutor | None = None
        self._executor_lock = threading.Lock()

    def answer(self, project_id: int, request: AssemblyRequest, now: datetime) -> AssemblyAnswer:
        """Return the file's state, starting its assembly when all its chunks are stored."""
        row = self._load(project_id, request.checksum)
        if row is not None:
            if self._is_current(row, now):
                return _answer_from_row(row)
            self._discard(row)

        if not request.chunks:
            # sentry-cli polls with the chunk list, so an empty list only queries a known file.
            return AssemblyAnswer("not_found")
        missing = self.store.missing(request.chunks)
        if missing:
            return AssemblyAnswer("not_found", missing_chunks=missing)

        if not self._claim(project_id, request, now):
            row = self._load(project_id, request.checksum)
            return _answer_from_row(row) if row is not None else AssemblyAnswer("created")
        try:
            size = self.store.total_size(request.chunks)
        except MissingChunkError:
            size = 0  # the assembly finds the chunk missing and reports it
        if size <= self.sync_bytes:
            self.assemble(project_id, request)
            row = self._load(project_id, request.checksum)
            if row is None:
                return AssemblyAnswer("not_found", missing_chunks=self.store.missing(request.chunks))
            return _answer_from_row(row)
        self._background().submit(self.assemble, project_id, request)
        return AssemblyAnswer("created")

    def assemble(self, project_id: int, request: AssemblyRequest) -> None:
        """Join the chunks, index the file and record the outcome. The caller must have claimed the file's row."""
        self._set_state(project_id, request.checksum, "assembling")
        try:
            outcome = self._build(project_id, request)
        except MissingChunkError as error:
            # Without its row, the next assemble request returns not_found with the missing chunk.
            logger.warning("project=%s file %s (%r): %s, so the client must upload it again", project_id, request.checksum, request.name, error)
            self._delete(project_id, request.checksum)
            return
        except Exception:
            logger.exception("project=%s file %s (%r): assembly failed", project_id, request.checksum, request.name)
            outcome = _Outcome("error", "The server failed to assemble this file; its log has the details.")
        self._finish(project_id, request.checksum, outcome)
        self.store.delete(request.chunks)
        logger.info("project=%s file %s (%r) assembled: %s", project_id, request.checksum, request.name, outcome.state)

    def _build(self, project_id: int, request: AssemblyRequest) -> _Outcome:
        size = self.store.total_size(request.chunks)
        if size > self.max_file_bytes:
            return _Outcome("error", self._too_large(request.name, size))
        workspace = self.symbol_store.new_workspace()
        try:
            try:
                staged, actual = self._stage(request.chunks, workspace)
            except UploadTooLargeError:
                return _Outcome("error", self._too_large(request.name, size))
            if actual != request.checksum:
                return _Outcome(
                    "error",
                    f"The chunks of {request.name} join to a file with SHA-1 {actual}, not {request.checksum} as the request "
                    "stated; upload the file again.",
                )
            try:
                result = inspect_staged_upload(staged, request.name, proguard_uuid_from_name(request.name))
                found = require_found(result, request.name)
            except DebugFileError as error:
                return _Outcome("error", error.message)
            described = save_debug_files(self.engine, self.symbol_store, project_id, found)
        finally:
            workspace.close()
        self.index.forget(project_id)
        chosen = _choose_described(described, request.debug_id)
        detail = "\n".join(result.skipped) or None
        return _Outcome("ok", detail, describe_dif(chosen, request.checksum, utc_now()), chosen.get("sha256"))

    def _stage(self, checksums: list[str], workspace: UploadWorkspace) -> tuple[StagedFile, str]:
        """Copy the chunks in order into one file of the workspace; return it and its SHA-1."""
        digest = hashlib.sha1(usedforsecurity=False)

        def pieces() -> Iterator[bytes]:
            for checksum in checksums:
                try:
                    data = self.store.path(checksum).read_bytes()
                except FileNotFoundError:
                    raise MissingChunkError(checksum) from None
                digest.update(data)
                yield data

        staged = stage_chunks(pieces(), workspace, limit=self.max_file_bytes)
        return staged, digest.hexdigest()

    def _too_large(self, name: str, size: int) -> str:
        return f"{name} is {size} bytes, more than the limit of {self.max_file_bytes} bytes (setting SHINDAN_MAX_DEBUG_FILE_BYTES)."

    def _background(self) -> ThreadPoolExecutor:
        with self._executor_lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(BACKGROUND_ASSEMBLIES, thread_name_prefix="shindan-assemble")
            return self._executor

    def _is_current(self, row: Any, now: datetime) -> bool:
        age = now - as_utc(row.updated_at)
        if row.state == "ok":
            return self._blob_is_indexed(row.project_id, row.blob_sha256)
        if row.state == "error":
            return age < ERROR_STATE_TTL
        return age < ASSEMBLY_TIMEOUT

    def _blob_is_indexed(self, project_id: int, blob_sha256: str | None) -> bool:
        if not blob_sha256:
            return True  # a dSYM UUID plist adds only a UUID mapping row, so there is no blob to check
        debug_files = DebugFile.__table__.c  # type: ignore[attr-defined]
        statement = select(debug_files.id).where(debug_files.project_id == project_id, debug_files.blob_sha256 == blob_sha256).limit(1)
        with self.engine.connect() as connection:
            return connection.execute(statement).first() is not None

    def _load(self, project_id: int, checksum: str) -> Any:
        statement = select(_TABLE).where(_TABLE.c.project_id == project_id, _TABLE.c.checksum == checksum)
        with self.engine.connect() as connection:
            return connection.execute(statement).first()

    def _claim(self, project_id: int, request: AssemblyRequest, now: datetime) -> bool:
        """Insert the file's row in state created. Only the process that inserts it assembles the file."""
        with self.engine.begin() as connection:
            inserted = connection.execute(
                insert_for(connection, ChunkAssembly)
                .values(project_id=project_id, checksum=request.checksum, name=request.name[:500], state="created", created_at=now, updated_at=now)
                .on_conflict_do_nothing(index_elements=["project_id", "checksum"])
                .returning(_TABLE.c.id)
            ).scalar_one_or_none()
        return inserted is not None

    def _discard(self, row: Any) -> None:
        """Delete an outdated row unless another process changed it since it was read."""
        with self.engine.begin() as connection:
            connection.execute(delete(_TABLE).where(_TABLE.c.id == row.id, _TABLE.c.state == row.state, _TABLE.c.updated_at == row.updated_at))

    def _delete(self, project_id: int, checksum: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(delete(_TABLE).where(_TABLE.c.project_id == project_id, _TABLE.c.checksum == checksum))

    def _set_state(self, project_id: int, checksum: str, state: str) -> None:
        self._update(project_id, checksum, state=state, updated_at=utc_now())

    def _finish(self, project_id: int, checksum: str, outcome: _Outcome) -> None:
        self._update(
            project_id,
            checksum,
            state=outcome.state,
            detail=outcome.detail,
            dif=json.dumps(outcome.dif) if outcome.dif is not None else None,
            blob_sha256=outcome.blob_sha256,
            updated_at=utc_now(),
        )

    def _update(self, project_id: int, checksum: str, **values: Any) -> None:
        with self.engine.begin() as connection:
            connection.execute(update(_TABLE).where(_TABLE.c.project_id == project_id, _TABLE.c.checksum == checksum).values(**values))


def _answer_from_row(row: Any) -> AssemblyAnswer:
    if row.state == "ok":
        return AssemblyAnswer("ok", detail=row.detail, dif=json.loads(row.dif) if row.dif else None)
    if row.state == "error":
        return AssemblyAnswer("error", detail=row.detail)
    return AssemblyAnswer(row.state)


def proguard_uuid_from_name(name: str) -> str | None:
    """Return the UUID in a sentry-cli ProGuard mapping name ("/proguard/<uuid>.txt"), if it is one."""
    match = _PROGUARD_NAME.search(name)
    return match.group(1).lower() if match else None


def _choose_described(described: list[dict[str, Any]], debug_id: str | None) -> dict[str, Any]:
    """Pick the entry that the response describes: the requested debug id, else the first stored file."""
    if debug_id:
        for item in described:
            if item["debug_id"] == debug_id.lower():
                return item
    stored = [item for item in described if item.get("sha256")]
    return stored[0] if stored else described[0]


def describe_dif(item: dict[str, Any], sha1: str, created_at: datetime) -> dict[str, Any]:
    """Describe one indexed debug file with the fields of Sentry's debug file API that sentry-cli reads.

    sentry-cli requires ``objectName``, ``cpuName`` and ``sha1`` and prints the debug id,
    object name and CPU name. ``data.type`` (Sentry's object kind) is left out because
    Shindan does not record it, and sentry-cli treats it as optional.
    """
    debug_id = item["debug_id"]
    return {
        "uuid": debug_id[:36],
        "debugId": debug_id,
        "codeId": item.get("code_id"),
        "cpuName": item.get("arch") or "any",
        "objectName": item["object_name"],
        "symbolType": item["kind"],
        "size": item.get("size", 0),
        "sha1": sha1,
        "sha256": item.get("sha256"),
        "dateCreated": created_at.isoformat(),
        "data": {"features": list(item.get("features", []))},
    }
