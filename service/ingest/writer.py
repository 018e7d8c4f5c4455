"""Group commit: concurrent ingest requests share one database transaction.

Each request hands its payloads to a single writer thread and waits on a
future. The thread takes whatever has arrived (up to ``batch_max`` payloads,
waiting at most ``batch_wait_ms`` for more), writes raw payloads and their
jobs in one transaction, and only then resolves the futures. A 200 therefore
always means the payload is committed, while one fsync covers many requests.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime

import zstandard
from sqlalchemy import func, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from service.db.models import Job, RawPayload
from service.processing.jobs import PROCESS_EVENT

logger = logging.getLogger("shindan.ingest")

_QUEUE_DEPTH_REFRESH_SECONDS = 1.0


@dataclass(frozen=True)
class PendingPayload:
    project_id: int
    format: str
    event_id: str
    body: bytes
    received_at: datetime
    job_kind: str = PROCESS_EVENT


class WriteFailed(Exception):
    """The database rejected the batch, so the request must not return 200."""


class IngestWriter:
    def __init__(self, engine: Engine, batch_max: int, batch_wait_ms: float, on_commit: Callable[[], None] | None = None) -> None:
        self._engine = engine
        self._batch_max = batch_max
        self._batch_wait = batch_wait_ms / 1000.0
        self._on_commit = on_commit
        self._requests: queue.Queue[tuple[list[PendingPayload], Future[list[int]]] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._queued_jobs = 0
        self._queue_depth_checked = 0.0
        # Used by the writer thread only; a ZstdCompressor must not be shared between threads.
        self._compressor = zstandard.ZstdCompressor(level=1)

    @property
    def queued_jobs(self) -> int:
        """Jobs waiting for a worker, as of the last check (at most about a second old)."""
        return self._queued_jobs

    def start(self) -> None:
        self._refresh_queue_depth()
        self._thread = threading.Thread(target=self._run, name="shindan-ingest-writer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._requests.put(None)
            self._thread.join(timeout=30)
            self._thread = None

    def submit(self, payloads: list[PendingPayload]) -> Future[list[int]]:
        future: Future[list[int]] = Future()
        self._requests.put((payloads, future))
        return future

    def _run(self) -> None:
        while True:
            first = self._requests.get()
            if first is None:
                return
            batch = [first]
            count = len(first[0])
            deadline = time.monotonic() + self._batch_wait
            stopping = False
            while count < self._batch_max:
                remaining = deadline - time.monotonic()
                try:
                    item = self._requests.get(timeout=max(remaining, 0)) if remaining > 0 else self._requests.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                    break
                batch.append(item)
                count += len(item[0])
            self._write(batch)
            if stopping:
                return

    def _write(self, batch: list[tuple[list[PendingPayload], Future[list[int]]]]) -> None:
        rows = [payload for payloads, _ in batch for payload in payloads]
        try:
            job_ids = self._insert(rows)
        except SQLAlchemyError as error:
            logger.error("group commit of %d payloads failed: %s", len(rows), error.__class__.__name__)
            for _, future in batch:
                future.set_exception(WriteFailed(str(error.__class__.__name__)))
            return
        position = 0
        for payloads, future in batch:
            future.set_result(job_ids[position : position + len(payloads)])
            position += len(payloads)
        self._queued_jobs += len(rows)
        if self._on_commit is not None:
            self._on_commit()
        if time.monotonic() - self._queue_depth_checked > _QUEUE_DEPTH_REFRESH_SECONDS:
            self._refresh_queue_depth()

    def _insert(self, rows: list[PendingPayload]) -> list[int]:
        if not rows:
            return []
        # Bodies are stored zstd-compressed: a 60 KB event becomes about 7 KB,
        # which cuts the bytes written and synced per commit by as much.
        bodies = [self._compressor.compress(row.body) for row in rows]
        with self._engine.begin() as connection:
            payload_ids = connection.execute(
                insert(RawPayload).returning(RawPayload.id, sort_by_parameter_order=True),  # type: ignore[arg-type]
                [
                    {"project_id": row.project_id, "received_at": row.received_at, "format": row.format, "event_id": row.event_id, "compression": "zstd", "body": body}
                    for row, body in zip(rows, bodies, strict=True)
                ],
            ).scalars().all()
            job_ids = connection.execute(
                insert(Job).returning(Job.id, sort_by_parameter_order=True),  # type: ignore[arg-type]
                [
                    {"kind": row.job_kind, "project_id": row.project_id, "payload_id": payload_id, "status": "queued", "attempts": 0, "available_at": row.received_at, "created_at": row.received_at}
                    for row, payload_id in zip(rows, payload_ids, strict=True)
                ],
            ).scalars().all()
        return list(job_ids)

    def _refresh_queue_depth(self) -> None:
        self._queue_depth_checked = time.monotonic()
        try:
            with self._engine.connect() as connection:
                self._queued_jobs = int(connection.execute(select(func.count()).select_from(Job).where(Job.status == "queued")).scalar_one())
        except SQLAlchemyError as error:
            logger.warning("could not read the queue depth: %s", error.__class__.__name__)
