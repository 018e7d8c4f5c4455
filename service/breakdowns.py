"""Breakdowns of an issue's or a release's events by device, OS version and release.

Each breakdown groups rows by one dimension, keeps the ``limit`` largest
values and merges the rest into one "other" bucket. Devices are grouped by
marketing name, so ``iPhone9,2`` and ``iPhone9,4`` count together as
"iPhone 7 Plus"; the bucket lists the identifiers it merged. An empty stored
value (an SDK that sent no model) is a bucket of its own with an empty key.

Release breakdowns count the release's crash events: events of issues of
type "crash", by the time the crash happened, as the data-quality check in
``service.sessions.stats`` counts them. They add the session counts per
device and OS, so a device with many crashes can be compared with how many
sessions ran on it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from service.db.models import Event, Issue
from service.devices.names import marketing_name
from service.grouping.issue_type import CRASH
from service.sessions import stats

DEFAULT_LIMIT = 10
MAX_LIMIT = 50

DEVICE = "device"
OS = "os"
RELEASE = "release"
DIMENSIONS = (DEVICE, OS, RELEASE)

# The event columns each dimension groups by.
_EVENT_COLUMNS = {
    DEVICE: (col(Event.device_model),),
    OS: (col(Event.os_name), col(Event.os_version)),
    RELEASE: (col(Event.release),),
}


@dataclass
class Bucket:
    """One value of a dimension (or the merged rest) with its counts.

    ``sessions`` and ``crashed_sessions`` are None when no session data was
    combined with the events.
    """

    key: str  # "" for events without a value
    label: str
    attributes: dict[str, Any]
    events: int = 0
    sessions: int | None = None
    crashed_sessions: int | None = None
    models: set[str] = field(default_factory=set)  # device identifiers merged into a device bucket

    def add_events(self, count: int) -> None:
        self.events += count

    def add_sessions(self, sessions: int, crashed: int) -> None:
        self.sessions = (self.sessions or 0) + sessions
        self.crashed_sessions = (self.crashed_sessions or 0) + crashed

    @property
    def crash_free_sessions(self) -> tuple[int, int] | None:
        """Return (sessions without a crash, sessions), or None without session data."""
        if self.sessions is None:
            return None
        return self.sessions - (self.crashed_sessions or 0), self.sessions


@dataclass(frozen=True)
class Breakdown:
    dimension: str
    measure: str  # "events" or "sessions": what orders the buckets and what "share" refers to
    total_events: int
    total_sessions: int | None
    buckets: list[Bucket]
    other: Bucket | None  # the buckets beyond ``limit``, merged
    other_values: int  # how many distinct values ``other`` merged

    def share(self, bucket: Bucket, measure: str | None = None) -> float:
        """Return the bucket's fraction (0 to 1) of the total events or sessions, or 0 when that total is 0."""
        measure = measure or self.measure
        if measure == "sessions":
            return (bucket.sessions or 0) / self.total_sessions if self.total_sessions else 0.0
        return bucket.events / self.total_events if self.total_events else 0.0


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"invalid limit {limit}: expected 1 to {MAX_LIMIT}")
    return limit


def bucket_for(dimension: str, values: tuple[str, ...]) -> tuple[str, str, dict[str, Any]]:
    """Return (key, label, attributes) for the stored ``values`` of ``dimension``'s columns."""
    if dimension == DEVICE:
        name = marketing_name(values[0] or "")
        return name, name, {"name": name or None}
    if dimension == OS:
        os_name, version = (values[0] or "").strip(), (values[1] or "").strip()
        label = f"{os_name} {version}".strip()
        return label, label, {"name": os_name or None, "version": version or None}
    release = values[0] or ""
    return release, release, {"release": release or None}


class BucketSet:
    """Buckets of one dimension, filled from event and session counts in any order."""

    def __init__(self, dimension: str) -> None:
        self.dimension = dimension
        self.buckets: dict[str, Bucket] = {}

    def bucket(self, values: tuple[str, ...]) -> Bucket:
        key, label, attributes = bucket_for(self.dimension, values)
        bucket = self.buckets.get(key)
        if bucket is None:
            bucket = self.buckets[key] = Bucket(key, label, attributes)
        if self.dimension == DEVICE and values[0]:
            bucket.models.add(values[0].strip())
        return bucket

    def add_events(self, rows: Iterable[tuple[tuple[str, ...], int]]) -> None:
        for values, count in rows:
            self.bucket(values).add_events(count)

    def add_sessions(self, rows: Iterable[tuple[tuple[str, ...], int, int]]) -> None:
        for values, sessions, crashed in rows:
            self.bucket(values).add_sessions(sessions, crashed)

    def breakdown(self, limit: int, with_sessions: bool) -> Breakdown:
        """Order the buckets by sessions (``with_sessions``) or events, keep ``limit`` and merge the rest."""
        measure = "sessions" if with_sessions else "events"
        if with_sessions:
            for bucket in self.buckets.values():
                if bucket.sessions is None:
                    bucket.add_sessions(0, 0)
        ordered = sorted(self.buckets.values(), key=lambda bucket: (-_measure(bucket, measure), -bucket.events, bucket.key == "", bucket.label))
        top, rest = ordered[:limit], ordered[limit:]
        other = None
        if rest:
            other = Bucket("", "", {})
            for bucket in rest:
                other.add_events(bucket.events)
                if bucket.sessions is not None:
                    other.add_sessions(bucket.sessions, bucket.crashed_sessions or 0)
        total_events = sum(bucket.events for bucket in ordered)
        total_sessions = sum(bucket.sessions or 0 for bucket in ordered) if with_sessions else None
        return Breakdown(self.dimension, measure, total_events, total_sessions, top, other, len(rest))


def _measure(bucket: Bucket, measure: str) -> int:
    return (bucket.sessions or 0) if measure == "sessions" else bucket.events


def event_counts(connection: Connection, dimension: str, conditions: Iterable[ColumnElement[bool]], crashes_only: bool = False) -> list[tuple[tuple[str, ...], int]]:
    """Count events per stored value of ``dimension``'s columns among the events matching ``conditions``.

    With ``crashes_only``, count only events of issues of type "crash".
    """
    columns = _EVENT_COLUMNS[dimension]
    statement = select(*columns, func.count()).select_from(Event)
    if crashes_only:
        statement = statement.join(Issue, col(Issue.id) == col(Event.issue_id)).where(col(Issue.type) == CRASH)
    statement = statement.where(*conditions).group_by(*columns)
    return [(tuple(row[:-1]), int(row[-1])) for row in connection.execute(statement)]


def issue_breakdowns(connection: Connection, issue_id: int, limit: int = DEFAULT_LIMIT) -> dict[str, Breakdown]:
    """Break the issue's stored events down by device, OS version and release.

    NOTE: this groups every stored event of the issue on each call (three
    scans of its ``ix_event_issue`` range); an issue with millions of events
    would need per-issue counters kept at ingest instead.
    """
    check_limit(limit)
    result = {}
    for dimension in DIMENSIONS:
        buckets = BucketSet(dimension)
        buckets.add_events(event_counts(connection, dimension, [col(Event.issue_id) == issue_id]))
        result[dimension] = buckets.breakdown(limit, with_sessions=False)
    return result


def release_breakdowns(
    connection: Connection,
    project_id: int,
    release: str,
    since: datetime,
    until: datetime,
    limit: int = DEFAULT_LIMIT,
    environment: str | None = None,
) -> dict[str, Breakdown]:
    """Break one release's crash events and sessions in ``[since, until)`` down by device and OS version.

    The range is widened to whole hours, the resolution of the session
    aggregates, and crash events are counted in the same range. An
    ``environment`` of None counts every environment.
    """
    check_limit(limit)
    start, end = stats.hour_range(since, until)
    conditions = [col(Event.project_id) == project_id, col(Event.release) == release, col(Event.timestamp) >= start, col(Event.timestamp) < end]
    if environment is not None:
        conditions.append(col(Event.environment) == environment)
    result = {}
    for dimension in (DEVICE, OS):
        buckets = BucketSet(dimension)
        buckets.add_events(event_counts(connection, dimension, conditions, crashes_only=True))
        session_rows = session_counts(connection, project_id, dimension, release, since, until, environment)
        buckets.add_sessions(session_rows)
        result[dimension] = buckets.breakdown(limit, with_sessions=bool(session_rows))
    return result


def session_counts(
    connection: Connection, project_id: int, dimension: str, release: str, since: datetime, until: datetime, environment: str | None = None
) -> list[tuple[tuple[str, ...], int, int]]:
    """Return (stored values, sessions, crashed sessions) per device model or OS version of the release."""
    session_dimension = "device_model" if dimension == DEVICE else "os"
    rows = stats.session_breakdown(connection, project_id, session_dimension, since, until, release=release, environment=environment)
    return [(_session_values(dimension, row), row.counts.started, row.counts.crashed) for row in rows]


def _session_values(dimension: str, row: stats.BreakdownRow) -> tuple[str, ...]:
    if dimension == DEVICE:
        return (row.device_model,)
    return (row.os_name, row.os_version)


def render_bucket(breakdown: Breakdown, bucket: Bucket) -> dict[str, Any]:
    """Return the JSON form of one bucket: its attributes, counts and shares (rounded to 4 places)."""
    rendered: dict[str, Any] = dict(bucket.attributes)
    if breakdown.dimension == DEVICE and bucket.key:
        rendered["models"] = sorted(bucket.models)
    rendered["events"] = bucket.events
    rendered["event_share"] = round(breakdown.share(bucket, "events"), 4)
    if breakdown.total_sessions is not None:
        crash_free = bucket.crash_free_sessions or (0, 0)
        rendered["sessions"] = bucket.sessions or 0
        rendered["crashed_sessions"] = bucket.crashed_sessions or 0
        rendered["session_share"] = round(breakdown.share(bucket, "sessions"), 4)
        rendered["crash_free_sessions"] = {
            "numerator": crash_free[0],
            "denominator": crash_free[1],
            "value": round(crash_free[0] / crash_free[1], 6) if crash_free[1] else None,
        }
    return rendered


def render_breakdown(breakdown: Breakdown) -> dict[str, Any]:
    rendered: dict[str, Any] = {
        "measure": breakdown.measure,
        "total_events": breakdown.total_events,
        "values": [render_bucket(breakdown, bucket) for bucket in breakdown.buckets],
        "other": None,
    }
    if breakdown.total_sessions is not None:
        rendered["total_sessions"] = breakdown.total_sessions
    if breakdown.other is not None:
        rendered["other"] = {"values": breakdown.other_values, **render_bucket(breakdown, breakdown.other)}
    return rendered
