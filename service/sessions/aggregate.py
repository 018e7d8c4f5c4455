"""Add parsed session updates and groups to the hourly aggregates and the distinct-user buckets.

Counting rule: a session (one SDK session id) adds 1 to a counter the first
time any of its updates shows that state (``SessionUpdate.states``), found
through ``session_seen``. Repeated, retried and out-of-order updates
therefore count once, in the hour of the session's ``started`` time, which
Sentry's protocol keeps fixed across updates. Nothing identifies a repeat
of an update without a session id or of a ``sessions`` group, so these are
counted as they come, and a ``sessions`` item delivered twice counts twice.

Statements touch rows in sorted key order and in the same table order in
every worker, so concurrent workers on PostgreSQL wait for each other
rather than deadlock.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, select, tuple_, update
from sqlalchemy.engine import Connection
from sqlmodel import col

from service.db.dialect import insert_for
from service.db.session_models import SessionHourly, SessionSeen, SessionUser, SessionUserBucket
from service.privacy.scrub import hash_user_id
from service.sessions.hyperloglog import HyperLogLog
from service.sessions.model import ABNORMAL, CRASHED, ERRORED, EXITED, STARTED, SessionAttributes, SessionGroup, SessionUpdate, hour_of

# Sentry accepts updates of a session for 5 days after it started; older
# updates are dropped, which also bounds how long session_seen rows matter.
MAX_SESSION_AGE = timedelta(days=5)
# Device clocks can run ahead; a session that starts further in the future than this is dropped.
MAX_CLOCK_AHEAD = timedelta(days=1)
# session_seen rows are deleted this long after their session started. It
# exceeds MAX_SESSION_AGE so that a job that waited in the queue for up to
# two days still finds the rows it needs.
SEEN_RETENTION = MAX_SESSION_AGE + timedelta(days=2)
# Users listed exactly per bucket before the bucket becomes a HyperLogLog sketch.
EXACT_USERS_PER_BUCKET = 1000
ALL_USERS = "all"
CRASHED_USERS = "crashed"

_ROWS_PER_STATEMENT = 500


@dataclass
class HourlyCounts:
    started: int = 0
    errored: int = 0
    crashed: int = 0
    abnormal: int = 0
    exited: int = 0
    duration_total: float = 0.0
    duration_count: int = 0

    def add_state(self, state: str, duration: float | None) -> None:
        if state == STARTED:
            self.started += 1
        elif state == ERRORED:
            self.errored += 1
        elif state == CRASHED:
            self.crashed += 1
        elif state == ABNORMAL:
            self.abnormal += 1
        elif state == EXITED:
            self.exited += 1
            if duration is not None:
                self.duration_total += duration
                self.duration_count += 1

    def add_group(self, group: SessionGroup) -> None:
        self.started += group.total
        self.errored += group.errored + group.abnormal + group.crashed
        self.crashed += group.crashed
        self.abnormal += group.abnormal
        self.exited += group.exited + group.errored


@dataclass
class RecordResult:
    """Counts of one call: states newly counted, states skipped as already counted, groups and user buckets."""

    counted_states: int = 0
    repeated_states: int = 0
    groups: int = 0
    user_buckets: int = 0
    sketched_buckets: list[int] = field(default_factory=list)


def is_countable(started: datetime, received_at: datetime) -> bool:
    """Return False for sessions too old to update or starting implausibly far in the future."""
    return received_at - MAX_SESSION_AGE <= started <= received_at + MAX_CLOCK_AHEAD


def session_key(session_id: str) -> str:
    """Return a fixed-width key for an SDK session id (which the SDK chooses freely)."""
    return hashlib.blake2b(session_id.encode("utf-8"), digest_size=16).hexdigest()


def record_sessions(connection: Connection, project_id: int, updates: Sequence[SessionUpdate], groups: Sequence[SessionGroup], user_hash_key: bytes) -> RecordResult:
    """Count ``updates`` and ``groups`` of one project in the caller's transaction."""
    result = RecordResult(groups=len(groups))
    counted = _new_states(connection, project_id, updates, result)
    hourly: dict[tuple[datetime, SessionAttributes], HourlyCounts] = defaultdict(HourlyCounts)
    for session, state in counted:
        hourly[(hour_of(session.started), session.attributes)].add_state(state, session.duration)
    for group in groups:
        hourly[(hour_of(group.started), group.attributes)].add_group(group)
    _add_hourly(connection, project_id, hourly)
    users = _users_by_bucket(updates, groups, user_hash_key)
    result.user_buckets = len(users)
    result.sketched_buckets = _add_users(connection, project_id, users)
    return result


def purge_seen(connection: Connection, now: datetime) -> int:
    """Delete session_seen rows of sessions that can no longer be updated; return how many."""
    deleted = connection.execute(delete(SessionSeen).where(col(SessionSeen.started) < now - SEEN_RETENTION))
    return int(deleted.rowcount or 0)


def _new_states(connection: Connection, project_id: int, updates: Iterable[SessionUpdate], result: RecordResult) -> list[tuple[SessionUpdate, str]]:
    """Return (update, state) pairs not counted before, and mark them as counted."""
    counted: list[tuple[SessionUpdate, str]] = []
    first_update: dict[tuple[str, str], SessionUpdate] = {}
    for session in updates:
        if not session.session_id:
            counted.extend((session, state) for state in session.states())
            continue
        key = session_key(session.session_id)
        for state in session.states():
            if (key, state) in first_update:
                result.repeated_states += 1
            else:
                first_update[(key, state)] = session
    rows = [
        {"project_id": project_id, "session_key": key, "state": state, "started": session.started}
        for (key, state), session in sorted(first_update.items(), key=lambda item: item[0])
    ]
    if rows:
        statement = (
            insert_for(connection, SessionSeen)
            .on_conflict_do_nothing(index_elements=["project_id", "session_key", "state"])
            .returning(col(SessionSeen.session_key), col(SessionSeen.state))
        )
        inserted = connection.execute(statement, rows).all()
        result.repeated_states += len(rows) - len(inserted)
        counted.extend((first_update[(key, state)], state) for key, state in inserted)
    result.counted_states += len(counted)
    return counted


def _add_hourly(connection: Connection, project_id: int, hourly: dict[tuple[datetime, SessionAttributes], HourlyCounts]) -> None:
    if not hourly:
        return
    table = SessionHourly.__table__  # type: ignore[attr-defined]
    rows = []
    for (hour, attributes), counts in sorted(hourly.items(), key=lambda item: (item[0][1], item[0][0])):
        rows.append(
            {
                "project_id": project_id,
                "hour": hour,
                "release": attributes.release,
                "environment": attributes.environment,
                "os_name": attributes.os_name,
                "os_version": attributes.os_version,
                "device_model": attributes.device_model,
                "started": counts.started,
                "errored": counts.errored,
                "crashed": counts.crashed,
                "abnormal": counts.abnormal,
                "exited": counts.exited,
                "duration_total": counts.duration_total,
                "duration_count": counts.duration_count,
            }
        )
    statement = insert_for(connection, table)
    counters = ("started", "errored", "crashed", "abnormal", "exited", "duration_total", "duration_count")
    statement = statement.on_conflict_do_update(
        index_elements=["project_id", "release", "hour", "environment", "os_name", "os_version", "device_model"],
        set_={name: table.c[name] + statement.excluded[name] for name in counters},
    )
    connection.execute(statement, rows)


_UserBucketKey = tuple[str, datetime, str, str]  # release, hour, environment, kind


def _users_by_bucket(updates: Iterable[SessionUpdate], groups: Iterable[SessionGroup], user_hash_key: bytes) -> dict[_UserBucketKey, set[str]]:
    users: dict[_UserBucketKey, set[str]] = defaultdict(set)
    hashes: dict[str, str] = {}
    entries: list[tuple[str, SessionAttributes, datetime, bool]] = [
        (session.distinct_id, session.attributes, session.started, session.status == CRASHED) for session in updates
    ]
    entries.extend((group.distinct_id, group.attributes, group.started, group.crashed > 0) for group in groups)
    for distinct_id, attributes, started, crashed in entries:
        if not distinct_id:
            continue
        user_hash = hashes.get(distinct_id)
        if user_hash is None:
            user_hash = hashes[distinct_id] = hash_user_id(distinct_id, user_hash_key)
        hour = hour_of(started)
        users[(attributes.release, hour, attributes.environment, ALL_USERS)].add(user_hash)
        if crashed:
            users[(attributes.release, hour, attributes.environment, CRASHED_USERS)].add(user_hash)
    return users


def _add_users(connection: Connection, project_id: int, users: dict[_UserBucketKey, set[str]]) -> list[int]:
    """Add users to their buckets under row locks; return the ids of buckets this turned into sketches."""
    if not users:
        return []
    buckets = _lock_buckets(connection, project_id, sorted(users))

    added: Counter[int] = Counter()
    exact_rows = [
        {"bucket_id": buckets[key].id, "user_hash": user_hash}
        for key in sorted(users)
        if buckets[key].sketch is None
        for user_hash in sorted(users[key])
    ]
    if exact_rows:
        statement = insert_for(connection, SessionUser).on_conflict_do_nothing(index_elements=["bucket_id", "user_hash"]).returning(col(SessionUser.bucket_id))
        added.update(connection.execute(statement, exact_rows).scalars())

    exact_counts = {row.id: row.exact_count for row in buckets.values()}
    new_counts = {bucket_id: exact_counts[bucket_id] + count for bucket_id, count in sorted(added.items())}
    within_bound = [{"bucket": bucket_id, "count": count} for bucket_id, count in new_counts.items() if count <= EXACT_USERS_PER_BUCKET]
    if within_bound:
        statement = update(SessionUserBucket).where(col(SessionUserBucket.id) == bindparam("bucket")).values(exact_count=bindparam("count"))
        connection.execute(statement, within_bound)
    converted = [bucket_id for bucket_id, count in new_counts.items() if count > EXACT_USERS_PER_BUCKET]
    for bucket_id in converted:
        _convert_to_sketch(connection, bucket_id, new_counts[bucket_id])

    for key in sorted(users):
        bucket = buckets[key]
        if bucket.sketch is not None:
            sketch = HyperLogLog.from_bytes(bucket.sketch)
            for user_hash in users[key]:
                sketch.add_hash(user_hash)
            _update_bucket(connection, bucket.id, sketch=sketch.to_bytes())
    return converted


def _lock_buckets(connection: Connection, project_id: int, keys: list[_UserBucketKey]) -> dict[_UserBucketKey, Any]:
    """Create missing buckets, then lock all of them in id order, so that concurrent workers wait rather than deadlock."""
    key_columns = ["project_id", "release", "hour", "environment", "kind"]
    connection.execute(
        insert_for(connection, SessionUserBucket).on_conflict_do_nothing(index_elements=key_columns),
        [{"project_id": project_id, "release": release, "hour": hour, "environment": environment, "kind": kind, "exact_count": 0} for release, hour, environment, kind in keys],
    )
    identity = tuple_(col(SessionUserBucket.release), col(SessionUserBucket.hour), col(SessionUserBucket.environment), col(SessionUserBucket.kind))
    ids: list[int] = []
    for start in range(0, len(keys), _ROWS_PER_STATEMENT):
        chunk = keys[start : start + _ROWS_PER_STATEMENT]
        found = connection.execute(select(col(SessionUserBucket.id)).where(col(SessionUserBucket.project_id) == project_id, identity.in_(chunk))).scalars()
        ids.extend(int(bucket_id) for bucket_id in found if bucket_id is not None)
    buckets: dict[_UserBucketKey, Any] = {}
    ids.sort()
    for start in range(0, len(ids), _ROWS_PER_STATEMENT):
        statement = (
            select(col(SessionUserBucket.id), col(SessionUserBucket.release), col(SessionUserBucket.hour), col(SessionUserBucket.environment), col(SessionUserBucket.kind), col(SessionUserBucket.exact_count), col(SessionUserBucket.sketch))
            .where(col(SessionUserBucket.id).in_(ids[start : start + _ROWS_PER_STATEMENT]))
            .order_by(col(SessionUserBucket.id))
            .with_for_update()
        )
        for row in connection.execute(statement):
            buckets[(row.release, row.hour, row.environment, row.kind)] = row
    return buckets


def _convert_to_sketch(connection: Connection, bucket_id: int, exact_count: int) -> None:
    """Replace a bucket's exact list of users by a sketch of them."""
    sketch = HyperLogLog()
    for user_hash in connection.execute(select(col(SessionUser.user_hash)).where(col(SessionUser.bucket_id) == bucket_id)).scalars():
        sketch.add_hash(user_hash)
    _update_bucket(connection, bucket_id, exact_count=exact_count, sketch=sketch.to_bytes())
    connection.execute(delete(SessionUser).where(col(SessionUser.bucket_id) == bucket_id))


def _update_bucket(connection: Connection, bucket_id: int, **values: object) -> None:
    connection.execute(update(SessionUserBucket).where(col(SessionUserBucket.id) == bucket_id).values(**values))
