"""Late symbols: re-symbolicate and re-group stored events once their debug files arrive.

An event that lacked an app debug file or mapping keeps its scrubbed report from
before symbolication (``Event.unsymbolicated_report``) and one ``event_symbol_wait``
row per missing debug id. Storing a debug file marks the matching rows ready and
enqueues a ``reprocess-symbols`` job in the same transaction
(``on_debug_files_added``). The job runs symbolicate → in_app → group again on
the kept reports, in batches of ``BATCH_SIZE`` events, one transaction each:

- The event's report, title and symbolication state are replaced. When its
  fingerprint changed, the event moves to the issue of the new fingerprint
  (created if needed), the old issue loses the event and its user, and an old
  issue left without events points to the new one (``Issue.merged_into_id``).
- A crash alerts once. An issue created here gets a new-issue alert only when
  the alerts of the issues its events came from can still be withdrawn. That
  is the case while they wait out the grace period (``symbols_grace_seconds``)
  unsent, and then they are deleted. Otherwise the old issue's alert remains.

Several workers can run jobs of one project at once: on PostgreSQL each batch
locks its events with ``FOR UPDATE SKIP LOCKED`` and the wait rows with
``FOR UPDATE``; on SQLite the first write of the batch takes the database's
write lock. A job run again finds only events that still have ready rows, so it
changes nothing twice.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import delete, exists, func, insert, select, update
from sqlalchemy.engine import Connection, Engine

from service.alerts.outbox import enqueue_new_issue
from service.clock import as_utc, utc_now
from service.db.dialect import insert_for
from service.db.models import Event, Issue, IssueUser, Job, OutboxMessage
from service.db.symbol_models import EventSymbolWait
from service.metrics import COUNTERS
from service.processing import store
from service.processing.jobs import REPROCESS_SYMBOLS
from service.processing.pipeline import EventContext, PipelineServices, symbolicate_and_group
from service.queue import ClaimedJob, fail_job, finish_jobs
from service.schema import crash_report_pb2 as pb
from service.symbols.missing import NeededImage, needed_images, reprocessable, wait_row

logger = logging.getLogger("shindan.symbols")

# Events per transaction. A batch holds its events' locks (and on SQLite the write lock) while it symbolicates.
BATCH_SIZE = 50
# Batches one job runs before it hands the rest to a new job, so other jobs get a turn.
MAX_BATCHES_PER_JOB = 20

# Links followed from a merged issue; a longer chain stops at the last issue reached.
MAX_MERGE_HOPS = 10

COUNTERS.describe("shindan_events_reprocessed_total", "Events symbolicated again after their debug files arrived")


def on_debug_files_added(connection: Connection, project_id: int, debug_ids: list[str]) -> bool:
    """Mark events waiting for these debug ids ready and enqueue a reprocess job; return whether any waited.

    Call it in the transaction that indexes the debug files, so that a worker
    finds the files no later than the ready rows.
    """
    normalized_ids = sorted({debug_id.lower() for debug_id in debug_ids if debug_id})
    if not normalized_ids:
        return False
    marked = connection.execute(
        update(EventSymbolWait).where(EventSymbolWait.project_id == project_id, EventSymbolWait.debug_id.in_(normalized_ids)).values(ready=True)  # type: ignore[attr-defined]
    ).rowcount
    if not marked:
        return False
    enqueue_reprocess(connection, project_id, utc_now())
    logger.info("project=%d: %d wait row(s) ready for %d debug id(s); reprocessing queued", project_id, marked, len(normalized_ids))
    return True


def enqueue_reprocess(connection: Connection, project_id: int, now: datetime) -> None:
    """Add a reprocess job for the project unless one is already queued."""
    queued = connection.execute(
        select(Job.id).where(Job.project_id == project_id, Job.kind == REPROCESS_SYMBOLS, Job.status == "queued").limit(1)
    ).first()
    if queued is not None:
        return
    connection.execute(
        insert(Job).values(kind=REPROCESS_SYMBOLS, project_id=project_id, payload_id=None, status="queued", attempts=0, available_at=now, created_at=now)
    )


def merge_target(connection: Connection, issue_id: int) -> int | None:
    """Follow ``merged_into_id`` from an issue; return the issue that contains its events now, or None if it was not merged."""
    target = None
    current = issue_id
    for _ in range(MAX_MERGE_HOPS):
        merged_into = connection.execute(select(Issue.merged_into_id).where(Issue.id == current)).scalar_one_or_none()
        if merged_into is None:
            break
        target = current = merged_into
    return target


def new_issue_alerts_of(issue_id: int) -> object:
    """Return the condition for the outbox rows of an issue's new-issue alert (one per channel)."""
    return OutboxMessage.dedupe_key.like(f"issue.created:{issue_id}:%")  # type: ignore[attr-defined]


def handle_reprocess_jobs(engine: Engine, jobs: list[ClaimedJob], services: PipelineServices, base_url: str) -> None:
    """Job handler for ``reprocess-symbols``: reprocess each job's project, then finish or fail the job."""
    # A fresh index: the shared one caches misses for a few seconds, and the file that triggered the job is new.
    from service.symbols.index import DebugFileIndex

    fresh_services = replace(services, find_debug_file=DebugFileIndex(engine).find)
    for job in jobs:
        try:
            done = _reprocess_project(engine, fresh_services, job, base_url)
            with engine.begin() as connection:
                if not done:
                    enqueue_reprocess(connection, job.project_id, utc_now())
                finish_jobs(connection, [job.id])
        except Exception as error:  # noqa: BLE001 - recorded on the job, which is retried with a delay
            logger.exception("job=%d project=%d reprocessing failed", job.id, job.project_id)
            with engine.begin() as connection:
                fail_job(connection, job, f"reprocessing failed: {error.__class__.__name__}: {error}", utc_now(), retryable=True)


def _reprocess_project(engine: Engine, services: PipelineServices, job: ClaimedJob, base_url: str) -> bool:
    """Run batches until no ready event is left; return False when the batch limit stopped it first."""
    for _ in range(MAX_BATCHES_PER_JOB):
        with engine.begin() as connection:
            count = reprocess_batch(connection, services, job, base_url, utc_now())
        COUNTERS.inc("shindan_events_reprocessed_total", count)
        if count < BATCH_SIZE:
            return True
    return False


@dataclass
class _Move:
    """Events of one batch that moved from ``old_issue_id`` to other issues."""

    old_issue_id: int
    targets: Counter[int] = field(default_factory=Counter)
    user_hashes: set[str] = field(default_factory=set)


@dataclass
class _Target:
    issue_id: int
    created: bool
    sources: set[int] = field(default_factory=set)
    # Whether an event that moved here still waits for app symbols.
    waits: bool = False


def reprocess_batch(connection: Connection, services: PipelineServices, job: ClaimedJob, base_url: str, now: datetime) -> int:
    """Re-symbolicate up to BATCH_SIZE ready events of the job's project; return how many were locked."""
    # The first statement writes, so SQLite takes its write lock before anything is read.
    connection.execute(update(Job).where(Job.id == job.id).values(locked_at=now))
    ready_events = select(EventSymbolWait.event_row_id).where(EventSymbolWait.project_id == job.project_id, reprocessable(EventSymbolWait))
    events = connection.execute(
        select(Event)
        .where(Event.project_id == job.project_id, Event.id.in_(ready_events), Event.unsymbolicated_report != None)  # type: ignore[union-attr]  # noqa: E711
        .order_by(Event.id)  # type: ignore[arg-type]
        .limit(BATCH_SIZE)
        .with_for_update(skip_locked=True, of=Event)  # type: ignore[arg-type]
    ).all()
    if not events:
        return 0
    event_ids = [event.id for event in events]
    waits: dict[int, dict[str, str]] = {}
    for row in connection.execute(select(EventSymbolWait).where(EventSymbolWait.event_row_id.in_(event_ids)).with_for_update()):  # type: ignore[attr-defined]
        waits.setdefault(row.event_row_id, {})[row.debug_id] = row.reason

    moves: dict[int, _Move] = {}
    targets: dict[int, _Target] = {}
    for event in events:
        context = EventContext(job.project_id, "", as_utc(event.received_at), event.event_id, report=pb.CrashReport.FromString(event.unsymbolicated_report))
        context.unsymbolicated = event.unsymbolicated_report
        symbolicate_and_group(context, services)
        if context.symbolication is None:
            # The symbolicate step failed and left a note; keep waiting, but not in a loop.
            _mark_failed(connection, event.id)
            continue
        needs = needed_images(context.report)
        _update_waits(connection, event.id, job.project_id, waits.get(event.id, {}), needs)
        issue_id, created, _status = store.get_or_create_issue(connection, context)
        columns = store.event_row(context, issue_id, needs)
        connection.execute(
            update(Event)
            .where(Event.id == event.id)
            .values({name: columns[name] for name in ("issue_id", "title", "symbolication", "report", "unsymbolicated_report")})
        )
        if issue_id == event.issue_id:
            _refresh_issue_text(connection, issue_id, context)
            continue
        target = targets.setdefault(issue_id, _Target(issue_id, created))
        target.created |= created
        target.waits |= any(need.waits for need in needs)
        _add_to_issue(connection, issue_id, context)
        if event.issue_id is not None:
            target.sources.add(event.issue_id)
            move = moves.setdefault(event.issue_id, _Move(event.issue_id))
            move.targets[issue_id] += 1
            if event.user_hash:
                move.user_hashes.add(event.user_hash)

    emptied = {old_issue_id for old_issue_id in sorted(moves) if _shrink_issue(connection, moves[old_issue_id])}
    for target in targets.values():
        _settle_alerts(connection, job.project_id, target, emptied, now, base_url)
    logger.info("job=%d project=%d: %d event(s) reprocessed, %d moved to another issue", job.id, job.project_id, len(events), sum(sum(move.targets.values()) for move in moves.values()))
    return len(events)


def _update_waits(connection: Connection, event_row_id: int, project_id: int, before: dict[str, str], needs: list[NeededImage]) -> None:
    """Bring the event's wait rows in line with its new needs.

    Rows that still wait are updated in place rather than replaced: an upload
    whose UPDATE waits for this transaction's row lock then marks them ready.
    """
    waiting = {need.debug_id: need for need in needs if need.waits}
    resolved_ids = [debug_id for debug_id in before if debug_id not in waiting]
    if resolved_ids:
        connection.execute(delete(EventSymbolWait).where(EventSymbolWait.event_row_id == event_row_id, EventSymbolWait.debug_id.in_(resolved_ids)))  # type: ignore[attr-defined]
    for debug_id, need in waiting.items():
        if debug_id in before:
            connection.execute(
                update(EventSymbolWait).where(EventSymbolWait.event_row_id == event_row_id, EventSymbolWait.debug_id == debug_id).values(ready=False, reason=need.status)
            )
        else:
            connection.execute(insert(EventSymbolWait).values(wait_row(event_row_id, project_id, need)))


def _mark_failed(connection: Connection, event_row_id: int) -> None:
    connection.execute(update(EventSymbolWait).where(EventSymbolWait.event_row_id == event_row_id).values(ready=False, reason="failed"))


def _refresh_issue_text(connection: Connection, issue_id: int, context: EventContext) -> None:
    """Give the issue the event's new title and culprit when the event is its newest."""
    grouping = context.grouping
    assert grouping is not None
    connection.execute(
        update(Issue)
        .where(Issue.id == issue_id, Issue.last_seen <= store.event_time(context))
        .values(title=grouping.title[:500], culprit=grouping.culprit[:500])
    )


def _add_to_issue(connection: Connection, issue_id: int, context: EventContext) -> None:
    """Count a moved event and its user on the issue; the event keeps its time, so first and last seen widen only."""
    user_hash = context.report.user.id_hash[:64]
    new_users = 0
    if user_hash:
        inserted = connection.execute(
            insert_for(connection, IssueUser).values(issue_id=issue_id, user_hash=user_hash).on_conflict_do_nothing().returning(IssueUser.issue_id)  # type: ignore[attr-defined]
        ).first()
        new_users = int(inserted is not None)
    update_ = store.IssueUpdate(issue_id, created=False, status="", events=[context], new_users=new_users)
    store.apply_issue_update(connection, update_)


def _shrink_issue(connection: Connection, move: _Move) -> bool:
    """Take the moved events and their users off the old issue; return True when it has no event left."""
    old = move.old_issue_id
    for user_hash in sorted(move.user_hashes):
        still_there = exists().where(Event.issue_id == old, Event.user_hash == user_hash)
        connection.execute(delete(IssueUser).where(IssueUser.issue_id == old, IssueUser.user_hash == user_hash, ~still_there))
    remaining = connection.execute(
        select(func.count(), func.min(Event.timestamp), func.max(Event.timestamp)).where(Event.issue_id == old)
    ).one()
    users = connection.execute(select(func.count()).select_from(IssueUser).where(IssueUser.issue_id == old)).scalar_one()
    values: dict[str, object] = {"count": remaining[0], "user_count": users}
    if remaining[0]:
        values.update(first_seen=remaining[1], last_seen=remaining[2])
    else:
        values["merged_into_id"] = move.targets.most_common(1)[0][0]
    connection.execute(update(Issue).where(Issue.id == old).values(**values))
    return not remaining[0]


def _settle_alerts(connection: Connection, project_id: int, target: _Target, emptied: set[int], now: datetime, base_url: str) -> None:
    """Keep one new-issue alert per crash when events fold from their old issues into ``target``.

    A created target whose crash already alerted through a source issue gets
    its alert rows written as ``suppressed``, so that it counts as alerted when
    its own events fold onward after a later upload.

    NOTE: an old issue whose events span several batches is emptied only by the
    last one. Its grace alert then stays and goes out under the old title.
    """
    withdrawable = [source for source in sorted(target.sources) if source in emptied and not _alert_sent(connection, source, now)]
    grace_ends = None
    for source in withdrawable:
        pending = new_issue_alerts_of(source), OutboxMessage.status == "pending", OutboxMessage.attempts == 0
        grace_ends = connection.execute(select(func.max(OutboxMessage.next_attempt_at)).where(*pending)).scalar_one_or_none() or grace_ends
        connection.execute(delete(OutboxMessage).where(*pending))
    if not target.created:
        return
    written = enqueue_new_issue(connection, project_id, target.issue_id, now, base_url)
    if not all(source in withdrawable for source in target.sources):
        connection.execute(update(OutboxMessage).where(new_issue_alerts_of(target.issue_id), OutboxMessage.status == "pending").values(status="suppressed"))
        logger.info("issue=%d created by late symbols: alert suppressed, because issue(s) %s already alerted", target.issue_id, sorted(target.sources))
        return
    if target.waits and grace_ends is not None:
        # Still short of app symbols: keep the rest of the grace period the withdrawn alert had.
        connection.execute(update(OutboxMessage).where(new_issue_alerts_of(target.issue_id), OutboxMessage.status == "pending").values(next_attempt_at=grace_ends))
    logger.info("issue=%d created by late symbols: %d alert(s) written, %d issue alert(s) withdrawn", target.issue_id, written, len(withdrawable))


def _alert_sent(connection: Connection, issue_id: int, now: datetime) -> bool:
    """Return whether a new-issue alert of the issue went out or may be going out now.

    An alert that is pending, was never attempted and is due later (the grace
    period) can still be withdrawn; any other row counts as sent.
    """
    rows = connection.execute(
        select(OutboxMessage.status, OutboxMessage.attempts, OutboxMessage.next_attempt_at).where(new_issue_alerts_of(issue_id))
    ).all()
    return any(row.status != "pending" or row.attempts > 0 or as_utc(row.next_attempt_at) <= now for row in rows)
