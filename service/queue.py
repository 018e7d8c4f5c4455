"""The database as the job queue.

On PostgreSQL any number of workers claim jobs with ``FOR UPDATE SKIP LOCKED``;
on SQLite the single writer lock serializes claims. A job whose worker died
stays ``running`` until its lock expires, then it is claimed again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.engine import Connection

from service.db.models import Job, RawPayload

LOCK_TIMEOUT = timedelta(minutes=10)
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class ClaimedJob:
    id: int
    kind: str
    project_id: int
    payload_id: int | None
    attempts: int


def claim_jobs(connection: Connection, worker_id: str, limit: int, now: datetime) -> list[ClaimedJob]:
    """Mark up to ``limit`` due jobs as running for ``worker_id`` and return them."""
    due = (
        select(Job.id)
        .where(
            or_(
                and_(Job.status == "queued", Job.available_at <= now),
                and_(Job.status == "running", Job.locked_at < now - LOCK_TIMEOUT),  # type: ignore[operator]
            )
        )
        .order_by(Job.id)  # type: ignore[arg-type]
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    statement = (
        update(Job)
        .where(Job.id.in_(due.scalar_subquery()))  # type: ignore[union-attr]
        .values(status="running", locked_at=now, locked_by=worker_id, attempts=Job.attempts + 1)
        .returning(Job.id, Job.kind, Job.project_id, Job.payload_id, Job.attempts)
    )
    rows = connection.execute(statement).all()
    return sorted((ClaimedJob(*row) for row in rows), key=lambda job: job.id)


def finish_jobs(connection: Connection, job_ids: list[int]) -> None:
    """Delete finished jobs with their raw payloads.

    The processed event keeps the scrubbed CrashReport. The raw payload may
    contain personal data that scrubbing removed, so it is not kept once the
    event is stored. Failed jobs keep their payloads for inspection.
    """
    if not job_ids:
        return
    payload_ids = connection.execute(select(Job.payload_id).where(Job.id.in_(job_ids), Job.payload_id != None)).scalars().all()  # type: ignore[union-attr]  # noqa: E711
    connection.execute(delete(Job).where(Job.id.in_(job_ids)))  # type: ignore[union-attr]
    if payload_ids:
        connection.execute(delete(RawPayload).where(RawPayload.id.in_(payload_ids)))  # type: ignore[union-attr]


def fail_job(connection: Connection, job: ClaimedJob, error: str, now: datetime, retryable: bool) -> None:
    """Record a failure; a retryable one goes back to the queue with a growing delay."""
    if retryable and job.attempts < MAX_ATTEMPTS:
        delay = timedelta(seconds=30 * 2 ** (job.attempts - 1))
        values: dict[str, object] = {"status": "queued", "available_at": now + delay, "error": error[:2000], "locked_by": None}
    else:
        values = {"status": "failed", "finished_at": now, "error": error[:2000]}
    connection.execute(update(Job).where(Job.id == job.id).values(**values))  # type: ignore[arg-type]
