"""The ``process-sessions`` job handler: parse stored session payloads and count them.

A payload that cannot be parsed fails its job without retry, which keeps the
raw payload for inspection. A database error rolls the batch back and
retries each job on its own, so one bad job does not hold back the others.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import zstandard
from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from service.clock import as_utc, utc_now
from service.db.models import RawPayload
from service.metrics import COUNTERS
from service.queue import ClaimedJob, fail_job, finish_jobs
from service.sessions import native, sentry
from service.sessions.aggregate import is_countable, purge_seen, record_sessions
from service.sessions.model import InvalidSessionPayload, SessionGroup, SessionUpdate

if TYPE_CHECKING:
    from service.processing.pipeline import PipelineServices

logger = logging.getLogger("shindan.sessions")

COUNTERS.describe("shindan_sessions_counted_total", "Session states counted into hourly aggregates (started, errored, crashed, abnormal, exited)")
COUNTERS.describe("shindan_sessions_dropped_total", "Session updates and groups not counted, by reason")

_PURGE_INTERVAL_SECONDS = 3600.0
_last_purge = 0.0
_purge_lock = threading.Lock()


@dataclass
class ParsedPayload:
    job: ClaimedJob
    updates: list[SessionUpdate] = field(default_factory=list)
    groups: list[SessionGroup] = field(default_factory=list)


def parse_payload(payload_format: str, body: bytes, received_at: datetime) -> tuple[list[SessionUpdate], list[SessionGroup]]:
    """Return the updates and groups of one stored payload, without the ones outside the countable window."""
    updates: list[SessionUpdate] = []
    groups: list[SessionGroup] = []
    if payload_format == "sentry-session":
        updates = [sentry.parse_session_item(body)]
    elif payload_format == "sentry-sessions":
        groups = sentry.parse_sessions_item(body)
    elif payload_format in native.PAYLOAD_FORMATS:
        updates = native.parse_session_batch(body, payload_format)
    else:
        raise InvalidSessionPayload(f"payload format {payload_format!r} is not a session format")
    kept_updates = [update for update in updates if is_countable(update.started, received_at)]
    kept_groups = [group for group in groups if is_countable(group.started, received_at)]
    dropped = len(updates) - len(kept_updates) + len(groups) - len(kept_groups)
    if dropped:
        COUNTERS.inc("shindan_sessions_dropped_total", dropped, reason="outside_time_window")
    return kept_updates, kept_groups


def process_session_jobs(engine: Engine, jobs: list[ClaimedJob], services: PipelineServices, base_url: str) -> None:
    """Count the session payloads of ``jobs`` in one transaction; finish or fail each job."""
    del base_url  # sessions send no alerts
    parsed, failures = _parse_jobs(engine, jobs)
    now = utc_now()
    try:
        with engine.begin() as connection:
            _record(connection, parsed, services.user_hash_key)
            finish_jobs(connection, [item.job.id for item in parsed])
            for job, error in failures:
                fail_job(connection, job, error, now, retryable=False)
    except SQLAlchemyError as error:
        logger.warning("counting a batch of %d session payloads failed (%s); counting them one by one", len(parsed), error.__class__.__name__)
        _record_one_by_one(engine, parsed, failures, services.user_hash_key, now)
    _purge_now_and_then(engine, now)


def _parse_jobs(engine: Engine, jobs: list[ClaimedJob]) -> tuple[list[ParsedPayload], list[tuple[ClaimedJob, str]]]:
    payloads = _load_payloads(engine, [job.payload_id for job in jobs if job.payload_id is not None])
    parsed: list[ParsedPayload] = []
    failures: list[tuple[ClaimedJob, str]] = []
    for job in jobs:
        payload = payloads.get(job.payload_id or -1)
        if payload is None:
            failures.append((job, "raw payload not found"))
            continue
        try:
            result = parse_payload(payload.format, payload.body, as_utc(payload.received_at))
        except InvalidSessionPayload as error:
            COUNTERS.inc("shindan_sessions_dropped_total", reason="invalid")
            logger.warning("job=%d payload=%d session payload cannot be parsed: %s", job.id, payload.id, error)
            failures.append((job, f"invalid session payload: {error}"))
            continue
        parsed.append(ParsedPayload(job, *result))
    return parsed, failures


def _record(connection: Connection, parsed: list[ParsedPayload], user_hash_key: bytes) -> None:
    updates: dict[int, list[SessionUpdate]] = defaultdict(list)
    groups: dict[int, list[SessionGroup]] = defaultdict(list)
    for item in parsed:
        updates[item.job.project_id].extend(item.updates)
        groups[item.job.project_id].extend(item.groups)
    for project_id in sorted({item.job.project_id for item in parsed}):
        result = record_sessions(connection, project_id, updates[project_id], groups[project_id], user_hash_key)
        COUNTERS.inc("shindan_sessions_counted_total", result.counted_states)
        for bucket_id in result.sketched_buckets:
            logger.info("project=%d user bucket=%d passed the exact limit and is now a sketch", project_id, bucket_id)


def _record_one_by_one(engine: Engine, parsed: list[ParsedPayload], failures: list[tuple[ClaimedJob, str]], user_hash_key: bytes, now: datetime) -> None:
    retry: list[tuple[ClaimedJob, str]] = []
    for item in parsed:
        try:
            with engine.begin() as connection:
                _record(connection, [item], user_hash_key)
                finish_jobs(connection, [item.job.id])
        except SQLAlchemyError as error:
            logger.warning("job=%d session payload could not be counted: %s", item.job.id, error.__class__.__name__)
            retry.append((item.job, f"counting failed: {error.__class__.__name__}: {error}"))
    with engine.begin() as connection:
        for job, message in failures:
            fail_job(connection, job, message, now, retryable=False)
        for job, message in retry:
            fail_job(connection, job, message, now, retryable=True)


def _load_payloads(engine: Engine, payload_ids: list[int]) -> dict[int, RawPayload]:
    if not payload_ids:
        return {}
    with engine.connect() as connection:
        rows = connection.execute(select(RawPayload).where(RawPayload.id.in_(payload_ids))).all()  # type: ignore[union-attr]
    payloads = {row.id: RawPayload(**row._mapping) for row in rows}
    decompressor = zstandard.ZstdDecompressor()
    for payload in payloads.values():
        if payload.compression == "zstd":
            payload.body = decompressor.decompress(payload.body)
    return payloads


def _purge_now_and_then(engine: Engine, now: datetime) -> None:
    """Delete expired session_seen rows at most once an hour per process."""
    global _last_purge
    with _purge_lock:
        if time.monotonic() - _last_purge < _PURGE_INTERVAL_SECONDS and _last_purge:
            return
        _last_purge = time.monotonic()
    try:
        with engine.begin() as connection:
            deleted = purge_seen(connection, now)
    except SQLAlchemyError as error:
        logger.warning("deleting expired session_seen rows failed: %s", error.__class__.__name__)
        return
    if deleted:
        logger.info("deleted %d expired session_seen rows", deleted)
