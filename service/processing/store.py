"""Writing processed events: the event row, its issue, distinct users and alerts, in one transaction."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import case, or_, select, update
from sqlalchemy.engine import Connection

from service.alerts.outbox import enqueue_new_issue
from service.clock import as_utc
from service.db.dialect import insert_for
from service.db.models import Event, Issue, IssueUser, OutboxMessage
from service.issues import reopen_on_event
from service.processing.pipeline import EventContext
from service.symbols import reprocess
from service.symbols.missing import NeededImage, StoredNeeds, needed_images, record_needs

logger = logging.getLogger("shindan.processing")


def symbolication_state(context: EventContext) -> str:
    result = context.symbolication
    if result is None:
        return "failed"
    if result.total_frames == 0:
        return "not_needed"
    if result.missing or result.malformed:
        return "partial" if result.symbolicated_frames else "missing"
    return "complete"


def event_row(context: EventContext, issue_id: int, needs: list[NeededImage]) -> dict[str, object]:
    """Return the event table's columns. The unsymbolicated report is kept only while the event waits for app symbols."""
    report = context.report
    grouping = context.grouping
    assert grouping is not None
    return {
        "project_id": context.project_id,
        "event_id": context.event_id,
        "issue_id": issue_id,
        "received_at": context.received_at,
        "timestamp": event_time(context),
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
        "unsymbolicated_report": context.unsymbolicated if any(need.waits for need in needs) else None,
    }


def event_time(context: EventContext) -> datetime:
    report = context.report
    return as_utc(report.timestamp.ToDatetime()) if report.HasField("timestamp") else context.received_at


@dataclass
class IssueUpdate:
    """The events and new users that one batch adds to one issue."""

    issue_id: int
    created: bool
    status: str
    events: list[EventContext] = field(default_factory=list)
    new_users: int = 0


def store_events(connection: Connection, contexts: list[EventContext], now: datetime, base_url: str, alert_delay: timedelta = timedelta(0)) -> list[int]:
    """Insert processed events and update their issues; return the ids of issues this created.

    Statements are per batch and per issue, not per event. A repeated event
    id (an SDK retrying after a lost response, or a job run twice) is skipped,
    so counts stay right. The debug files each event needed are recorded too.
    A new issue whose events wait for app symbols gets its alert delayed by
    ``alert_delay``, so that symbols uploaded meanwhile give one alert with the
    real name (see ``service.symbols.reprocess``).
    """
    fresh = _drop_stored(connection, contexts)
    if not fresh:
        return []
    needs = {id(context): needed_images(context.report) for context in fresh}
    updates: dict[tuple[int, str], IssueUpdate] = {}
    for context in fresh:
        assert context.grouping is not None
        key = (context.project_id, context.grouping.fingerprint)
        if key not in updates:
            issue_id, created, status = get_or_create_issue(connection, context)
            updates[key] = IssueUpdate(issue_id, created, status)
        updates[key].events.append(context)
    by_issue = {update.issue_id: update for update in updates.values()}

    rows = [event_row(context, updates[(context.project_id, context.grouping.fingerprint)].issue_id, needs[id(context)]) for context in fresh]  # type: ignore[union-attr]
    inserted = {
        (row.project_id, row.event_id): row.id
        for row in connection.execute(
            insert_for(connection, Event).on_conflict_do_nothing(index_elements=["project_id", "event_id"]).returning(Event.id, Event.project_id, Event.event_id),  # type: ignore[attr-defined]
            rows,
        )
    }
    stored = [
        StoredNeeds(inserted[key], context.project_id, context.report.app.release[:200], event_time(context), needs[id(context)])
        for context in fresh
        if (key := (context.project_id, context.event_id)) in inserted
    ]
    for project_id in record_needs(connection, stored):
        reprocess.enqueue_reprocess(connection, project_id, now)
    for update_ in by_issue.values():
        update_.events = [context for context in update_.events if (context.project_id, context.event_id) in inserted]

    user_rows = [{"issue_id": issue_id, "user_hash": hashed} for issue_id, hashed in {(u.issue_id, c.report.user.id_hash) for u in by_issue.values() for c in u.events if c.report.user.id_hash}]
    if user_rows:
        for row in connection.execute(
            insert_for(connection, IssueUser).on_conflict_do_nothing().returning(IssueUser.issue_id),  # type: ignore[attr-defined]
            user_rows,
        ):
            by_issue[row.issue_id].new_users += 1

    created: list[int] = []
    for update_ in by_issue.values():
        if not update_.events:
            continue
        apply_issue_update(connection, update_)
        if update_.created:
            enqueue_new_issue(connection, update_.events[0].project_id, update_.issue_id, now, base_url)
            if alert_delay > timedelta(0) and any(need.waits for context in update_.events for need in needs[id(context)]):
                _delay_new_issue_alerts(connection, update_.issue_id, now + alert_delay)
            created.append(update_.issue_id)
        else:
            reopen_on_event(connection, update_.issue_id, update_.status)
    return created


def _drop_stored(connection: Connection, contexts: list[EventContext]) -> list[EventContext]:
    """Leave out events already stored and repeats inside the batch."""
    event_ids_by_project: dict[int, set[str]] = {}
    for context in contexts:
        event_ids_by_project.setdefault(context.project_id, set()).add(context.event_id)
    stored: set[tuple[int, str]] = set()
    for project_id, event_ids in event_ids_by_project.items():
        rows = connection.execute(select(Event.event_id).where(Event.project_id == project_id, Event.event_id.in_(event_ids)))  # type: ignore[attr-defined]
        stored.update((project_id, row.event_id) for row in rows)
    fresh: list[EventContext] = []
    for context in contexts:
        key = (context.project_id, context.event_id)
        if key in stored:
            logger.info("event=%s already stored; skipped", context.event_id)
            continue
        stored.add(key)
        fresh.append(context)
    return fresh


def _delay_new_issue_alerts(connection: Connection, issue_id: int, deliver_at: datetime) -> None:
    connection.execute(
        update(OutboxMessage)
        .where(reprocess.new_issue_alerts_of(issue_id), OutboxMessage.status == "pending", OutboxMessage.attempts == 0)
        .values(next_attempt_at=deliver_at)
    )


def get_or_create_issue(connection: Connection, context: EventContext) -> tuple[int, bool, str]:
    """Return (issue id, created, status); a new issue starts with no events counted."""
    grouping = context.grouping
    assert grouping is not None
    seen = event_time(context)
    release = context.report.app.release[:200]
    created_id = connection.execute(
        insert_for(connection, Issue)  # type: ignore[attr-defined]
        .values(
            project_id=context.project_id,
            fingerprint=grouping.fingerprint,
            title=grouping.title[:500],
            culprit=grouping.culprit[:500],
            type=grouping.issue_type,
            status="unresolved",
            count=0,
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
        return created_id, True, "unresolved"
    row = connection.execute(
        select(Issue.id, Issue.status, Issue.merged_into_id).where(Issue.project_id == context.project_id, Issue.fingerprint == grouping.fingerprint)
    ).one()
    if row.merged_into_id is None:
        return row.id, False, row.status
    # The signature of an issue that late symbols folded away: the event lacks
    # the same symbols (or this worker has not seen the upload yet). It joins
    # the real issue now and waits to be re-symbolicated like the others did.
    target_id = reprocess.merge_target(connection, row.id) or row.merged_into_id
    context.joined_merged_issue = True
    status = connection.execute(select(Issue.status).where(Issue.id == target_id)).scalar_one()
    return target_id, False, status


def apply_issue_update(connection: Connection, update_: IssueUpdate) -> None:
    """Add the batch's events and users to the issue; the newest event sets title, culprit and last release."""
    newest = max(update_.events, key=event_time)
    oldest = min(update_.events, key=event_time)
    grouping = newest.grouping
    assert grouping is not None
    newest_time = event_time(newest)
    oldest_time = event_time(oldest)
    is_newer = or_(Issue.last_seen == None, Issue.last_seen <= newest_time)  # noqa: E711
    release = newest.report.app.release[:200]
    values: dict[str, object] = {
        "count": Issue.count + len(update_.events),
        "user_count": Issue.user_count + update_.new_users,
        "last_seen": case((is_newer, newest_time), else_=Issue.last_seen),
        "first_seen": case((Issue.first_seen > oldest_time, oldest_time), else_=Issue.first_seen),
    }
    # An event that joined through a folded signature still has unsymbolicated names.
    if not newest.joined_merged_issue:
        values["title"] = case((is_newer, grouping.title[:500]), else_=Issue.title)
        values["culprit"] = case((is_newer, grouping.culprit[:500]), else_=Issue.culprit)
    if release:
        values["last_release"] = case((is_newer, release), else_=Issue.last_release)
    connection.execute(update(Issue).where(Issue.id == update_.issue_id).values(**values))  # type: ignore[arg-type]
