"""Writing processed events: the event row, its issue, distinct users and alerts, in one transaction."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from service.alerts.outbox import enqueue_new_issue
from service.clock import as_utc
from service.db.models import Event, Issue, IssueUser
from service.issues import reopen_on_event
from service.processing.pipeline import EventContext

logger = logging.getLogger("shindan.processing")


def _insert(connection: Connection, table: type) -> object:
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def symbolication_state(context: EventContext) -> str:
    result = context.symbolication
    if result is None:
        return "failed"
    if result.total_frames == 0:
        return "not_needed"
    if result.missing or result.malformed:
        return "partial" if result.symbolicated_frames else "missing"
    return "complete"


def store_event(connection: Connection, context: EventContext, now: datetime, base_url: str) -> int | None:
    """Insert one processed event; return the id of a newly created issue, if any.

    A repeated event id (an SDK retrying after a lost response, or a job run
    twice) is skipped, so counts stay right.
    """
    report = context.report
    grouping = context.grouping
    assert grouping is not None
    timestamp = as_utc(report.timestamp.ToDatetime()) if report.HasField("timestamp") else context.received_at
    event_row = {
        "project_id": context.project_id,
        "event_id": context.event_id,
        "received_at": context.received_at,
        "timestamp": timestamp,
        "platform": {1: "apple", 2: "android"}.get(report.platform, "other"),
        "release": report.app.release[:200],
        "environment": report.app.environment[:64],
        "title": grouping.title[:500],
        "user_hash": report.user.id_hash[:64],
        "os_name": report.os.name[:64],
        "os_version": report.os.version[:64],
        "device_model": report.device.model[:100],
        "symbolication": symbolication_state(context),
        "report": report.SerializeToString(),
    }
    inserted = connection.execute(
        _insert(connection, Event).values(**event_row).on_conflict_do_nothing(index_elements=["project_id", "event_id"]).returning(Event.id)  # type: ignore[attr-defined]
    ).scalar_one_or_none()
    if inserted is None:
        logger.info("event=%s already stored; skipped", context.event_id)
        return None
    issue_id, created = _upsert_issue(connection, context, timestamp)
    connection.execute(update(Event).where(Event.id == inserted).values(issue_id=issue_id))  # type: ignore[arg-type]
    if report.user.id_hash:
        new_user = connection.execute(
            _insert(connection, IssueUser).values(issue_id=issue_id, user_hash=report.user.id_hash).on_conflict_do_nothing().returning(IssueUser.issue_id)  # type: ignore[attr-defined]
        ).scalar_one_or_none()
        if new_user is not None:
            connection.execute(update(Issue).where(Issue.id == issue_id).values(user_count=Issue.user_count + 1))  # type: ignore[arg-type]
    if created:
        enqueue_new_issue(connection, context.project_id, issue_id, now, base_url)
        return issue_id
    return None


def _upsert_issue(connection: Connection, context: EventContext, seen: datetime) -> tuple[int, bool]:
    grouping = context.grouping
    assert grouping is not None
    release = context.report.app.release[:200]
    created_id = connection.execute(
        _insert(connection, Issue)  # type: ignore[attr-defined]
        .values(
            project_id=context.project_id,
            fingerprint=grouping.fingerprint,
            title=grouping.title[:500],
            culprit=grouping.culprit[:500],
            type=grouping.issue_type,
            status="unresolved",
            count=1,
            user_count=0,
            first_seen=seen,
            last_seen=seen,
            first_release=release,
            last_release=release,
            grouping=json.dumps([asdict(part) for part in grouping.parts]),
        )
        .on_conflict_do_nothing(index_elements=["project_id", "fingerprint"])
        .returning(Issue.id)
    ).scalar_one_or_none()
    if created_id is not None:
        return created_id, True
    row = connection.execute(
        select(Issue.id, Issue.status, Issue.last_seen).where(Issue.project_id == context.project_id, Issue.fingerprint == grouping.fingerprint)
    ).one()
    values: dict[str, object] = {"count": Issue.count + 1}
    if as_utc(row.last_seen) <= seen:
        values.update(last_seen=seen, last_release=release or Issue.last_release, title=grouping.title[:500], culprit=grouping.culprit[:500])
    connection.execute(update(Issue).where(Issue.id == row.id).values(**values))  # type: ignore[arg-type]
    reopen_on_event(connection, row.id, row.status)
    return row.id, False
