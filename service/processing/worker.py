"""Workers: claim a batch of jobs, run the pipeline on each, store the results in one transaction."""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from datetime import datetime

import zstandard
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from service.clock import as_utc, utc_now
from service.db.models import RawPayload
from service.formats.errors import InvalidPayload
from service.metrics import COUNTERS
from service.processing.jobs import PROCESS_EVENT, job_handler
from service.processing.pipeline import EventContext, PipelineServices, parse_payload, process_report
from service.processing.store import store_events
from service.queue import ClaimedJob, claim_jobs, fail_job, finish_jobs

logger = logging.getLogger("shindan.worker")


class Processor:
    def __init__(self, engine: Engine, services: PipelineServices, batch_size: int, base_url: str) -> None:
        self.engine = engine
        self.services = services
        self.batch_size = batch_size
        self.base_url = base_url

    def process_batch(self, worker_id: str, now: datetime | None = None) -> int:
        """Process up to ``batch_size`` due jobs; return how many were claimed."""
        now = now or utc_now()
        with self.engine.begin() as connection:
            jobs = claim_jobs(connection, worker_id, self.batch_size, now)
        if not jobs:
            return 0
        event_jobs = [job for job in jobs if job.kind == PROCESS_EVENT]
        other_jobs: dict[str, list[ClaimedJob]] = {}
        for job in jobs:
            if job.kind != PROCESS_EVENT:
                other_jobs.setdefault(job.kind, []).append(job)
        if event_jobs:
            self._process_events(event_jobs)
        for kind, kind_jobs in other_jobs.items():
            self._run_handler(kind, kind_jobs)
        return len(jobs)

    def _process_events(self, jobs: list[ClaimedJob]) -> None:
        self.services.refresh_debug_files()
        payloads = self._load_payloads([job.payload_id for job in jobs if job.payload_id is not None])
        done: list[tuple[ClaimedJob, list[EventContext]]] = []
        failures: list[tuple[ClaimedJob, str, bool]] = []
        for job in jobs:
            payload = payloads.get(job.payload_id or -1)
            if payload is None:
                failures.append((job, "raw payload not found", False))
                continue
            received_at = as_utc(payload.received_at)
            try:
                reports = parse_payload(payload.format, payload.body, received_at, payload.event_id)
            except InvalidPayload as error:
                COUNTERS.inc("shindan_events_failed_total", step="parse")
                logger.warning("job=%d event=%s cannot be parsed: %s", job.id, payload.event_id, error)
                failures.append((job, f"invalid payload: {error}", False))
                continue
            contexts = []
            for report in reports:
                context = EventContext(job.project_id, payload.format, received_at, report.event_id, report=report)
                process_report(context, self.services)
                contexts.append(context)
            done.append((job, contexts))
        self._store(done, failures)

    def _run_handler(self, kind: str, jobs: list[ClaimedJob]) -> None:
        """Hand jobs of another kind to their handler, which finishes or fails each job itself."""
        handler = job_handler(kind)
        if handler is None:
            with self.engine.begin() as connection:
                for job in jobs:
                    fail_job(connection, job, f"no handler for job kind {kind!r}", utc_now(), retryable=False)
            logger.error("%d jobs of unknown kind %r failed", len(jobs), kind)
            return
        try:
            handler(self.engine, jobs, self.services, self.base_url)
        except SQLAlchemyError:
            raise  # the loop logs it and retries; the jobs are claimed again after the lock timeout
        except Exception as error:  # noqa: BLE001 - a broken handler must not leave its jobs locked
            logger.exception("%d jobs of kind %r failed in their handler", len(jobs), kind)
            with self.engine.begin() as connection:
                for job in jobs:
                    fail_job(connection, job, f"{kind} handler failed: {error.__class__.__name__}: {error}", utc_now(), retryable=True)

    def _load_payloads(self, payload_ids: list[int]) -> dict[int, RawPayload]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(RawPayload).where(RawPayload.id.in_(payload_ids))).all()  # type: ignore[union-attr]
        payloads = {row.id: RawPayload(**row._mapping) for row in rows}
        for payload in payloads.values():
            if payload.compression == "zstd":
                payload.body = zstandard.ZstdDecompressor().decompress(payload.body)
        return payloads

    def _store(self, done: list[tuple[ClaimedJob, list[EventContext]]], failures: list[tuple[ClaimedJob, str, bool]]) -> None:
        now = utc_now()
        try:
            with self.engine.begin() as connection:
                store_events(connection, [context for _, contexts in done for context in contexts], now, self.base_url, self.services.symbols_grace)
                finish_jobs(connection, [job.id for job, _ in done])
                for job, error, retryable in failures:
                    fail_job(connection, job, error, now, retryable)
        except Exception as error:  # noqa: BLE001 - isolate the event that broke the batch below
            logger.warning("storing a batch of %d events failed (%s); storing them one by one", len(done), error.__class__.__name__)
            self._store_one_by_one(done, failures, now)
            return
        COUNTERS.inc("shindan_events_processed_total", sum(len(contexts) for _, contexts in done))

    def _store_one_by_one(self, done: list[tuple[ClaimedJob, list[EventContext]]], failures: list[tuple[ClaimedJob, str, bool]], now: datetime) -> None:
        """Isolate the payload that broke a batch, so the others are not held back."""
        for job, contexts in done:
            try:
                with self.engine.begin() as connection:
                    store_events(connection, contexts, now, self.base_url, self.services.symbols_grace)
                    finish_jobs(connection, [job.id])
                COUNTERS.inc("shindan_events_processed_total", len(contexts))
            except Exception as error:  # noqa: BLE001 - recorded on the job, which is retried later
                logger.exception("job=%d payload could not be stored", job.id)
                failures.append((job, f"storing failed: {error.__class__.__name__}: {error}", True))
        with self.engine.begin() as connection:
            for job, message, retryable in failures:
                fail_job(connection, job, message, now, retryable)


class BackgroundLoop:
    """Runs ``step`` repeatedly in a thread; sleeps up to ``idle_seconds`` when it found no work."""

    def __init__(self, name: str, step: Callable[[], int], idle_seconds: float, wake: threading.Event | None = None) -> None:
        self.name = name
        self.step = step
        self.idle_seconds = idle_seconds
        self.wake = wake or threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.wake.set()
        if self._thread is not None:
            self._thread.join(timeout=60)

    def _run(self) -> None:
        logger.info("%s started", self.name)
        while not self._stop.is_set():
            try:
                worked = self.step()
            except SQLAlchemyError as error:
                logger.error("%s: database error, retrying in 1s: %s", self.name, error.__class__.__name__)
                self._stop.wait(1.0)
                continue
            except Exception:  # noqa: BLE001 - keep the loop alive; the error is logged with its traceback
                logger.exception("%s: unexpected error, retrying in 1s", self.name)
                self._stop.wait(1.0)
                continue
            if not worked:
                self.wake.wait(self.idle_seconds)
                self.wake.clear()
        logger.info("%s stopped", self.name)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
