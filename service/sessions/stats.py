"""Crash-free figures, adoption, trends and breakdowns read from the session aggregates.

Definitions (all over sessions that started in the range, by hour):

- crash-free sessions = 1 - crashed sessions / sessions started
- crash-free users = 1 - users with a crashed session / users with a session
- adoption = the release's sessions / all sessions of the project

A user is the keyed hash of the installation id (Shindan SDK) or of the
``did`` a Sentry SDK sends. Sessions without one count as sessions but not
as users. Distinct users are exact while every hourly bucket involved is
still an exact list; otherwise they are a HyperLogLog estimate and
``UserCounts.exact`` is False.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, func, literal_column, select
from sqlalchemy.engine import Connection
from sqlmodel import col

from service.db.models import Event, Issue
from service.db.session_models import SessionHourly, SessionUser, SessionUserBucket
from service.grouping.issue_type import CRASH
from service.sessions.aggregate import ALL_USERS, CRASHED_USERS
from service.sessions.hyperloglog import HyperLogLog
from service.sessions.model import hour_of

BREAKDOWN_DIMENSIONS = {
    "device_model": ("device_model",),
    "os": ("os_name", "os_version"),
    "os_name": ("os_name",),
    "release": ("release",),
    "environment": ("environment",),
}
INTERVALS = {"hour": timedelta(hours=1), "day": timedelta(days=1)}
_IDS_PER_STATEMENT = 500


@dataclass(frozen=True)
class Ratio:
    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None


@dataclass(frozen=True)
class SessionCounts:
    """Sessions started in a range; ``errored`` includes crashed and abnormal ones."""

    started: int = 0
    errored: int = 0
    crashed: int = 0
    abnormal: int = 0
    exited: int = 0

    @property
    def healthy(self) -> int:
        return max(self.started - self.errored, 0)

    @property
    def crash_free(self) -> Ratio:
        return Ratio(max(self.started - self.crashed, 0), self.started)


@dataclass(frozen=True)
class UserCounts:
    users: int = 0
    crashed_users: int = 0
    exact: bool = True

    @property
    def crash_free(self) -> Ratio:
        return Ratio(max(self.users - self.crashed_users, 0), self.users)


@dataclass(frozen=True)
class DataQuality:
    """Crash events against crashed sessions of one release.

    More crash events than crashed sessions means crashes arrived whose
    sessions were never marked crashed (an SDK without session tracking, or
    session updates lost), so crash-free sessions is too high.
    """

    crash_events: int
    crashed_sessions: int

    @property
    def warning(self) -> bool:
        return self.crash_events > self.crashed_sessions


@dataclass(frozen=True)
class ReleaseHealth:
    release: str
    sessions: SessionCounts
    users: UserCounts
    adoption: Ratio
    data_quality: DataQuality

    @property
    def crash_free_sessions(self) -> Ratio:
        return self.sessions.crash_free

    @property
    def crash_free_users(self) -> Ratio:
        return self.users.crash_free


@dataclass(frozen=True)
class SeriesPoint:
    start: datetime
    sessions: SessionCounts
    users: UserCounts


@dataclass(frozen=True)
class BreakdownRow:
    """Sessions of one value of a breakdown dimension; the attributes outside the dimension are ""."""

    release: str
    environment: str
    os_name: str
    os_version: str
    device_model: str
    counts: SessionCounts

    @property
    def crash_free_sessions(self) -> Ratio:
        return self.counts.crash_free


def hour_range(since: datetime, until: datetime) -> tuple[datetime, datetime]:
    """Widen ``[since, until)`` to whole UTC hours, the resolution of the aggregates."""
    start = hour_of(since)
    end = hour_of(until)
    if end < until:
        end += timedelta(hours=1)
    return start, end


def list_release_health(connection: Connection, project_id: int, since: datetime, until: datetime, environment: str | None = None) -> list[ReleaseHealth]:
    """Return every release with sessions or crash events in the range, most sessions first."""
    start, end = hour_range(since, until)
    hourly_conditions = _hourly_conditions(project_id, start, end, environment)
    sessions = _session_counts(connection, hourly_conditions, col(SessionHourly.release))
    users = _user_counts(connection, _bucket_conditions(project_id, start, end, environment), col(SessionUserBucket.release), lambda bucket: bucket.release)
    crash_events = _crash_events(connection, project_id, start, end, environment, release=None)
    crash_events.pop("", None)  # events without a release have no release health
    total = sum(counts.started for counts in sessions.values())
    releases = set(sessions) | set(crash_events)
    health = [_release_health(str(release), sessions, users, crash_events, total) for release in releases]
    return sorted(health, key=lambda item: (-item.sessions.started, item.release))


def get_release_health(connection: Connection, project_id: int, release: str, since: datetime, until: datetime, environment: str | None = None) -> ReleaseHealth | None:
    """Return one release's figures, or None when it has neither sessions nor crash events in the range."""
    start, end = hour_range(since, until)
    hourly_conditions = _hourly_conditions(project_id, start, end, environment)
    everything = _session_counts(connection, hourly_conditions, None)
    sessions = _session_counts(connection, [*hourly_conditions, col(SessionHourly.release) == release], col(SessionHourly.release))
    bucket_conditions = [*_bucket_conditions(project_id, start, end, environment), col(SessionUserBucket.release) == release]
    users = _user_counts(connection, bucket_conditions, col(SessionUserBucket.release), lambda bucket: bucket.release)
    crash_events = _crash_events(connection, project_id, start, end, environment, release=release)
    if release not in sessions and release not in crash_events:
        return None
    total = everything[None].started if None in everything else 0
    return _release_health(release, sessions, users, crash_events, total)


def release_series(connection: Connection, project_id: int, release: str, since: datetime, until: datetime, interval: str = "hour", environment: str | None = None) -> list[SeriesPoint]:
    """Return one point per hour or UTC day of ``[since, until)``, with zeros where nothing was counted.

    Daily points start at midnight UTC, except the first, which starts at
    ``since`` widened to the hour, so the points add up to the range's totals.
    """
    step = INTERVALS[interval]
    start, end = hour_range(since, until)
    boundaries = [start]
    point = start.replace(hour=0) + step if interval == "day" else start + step
    while point < end:
        boundaries.append(point)
        point += step

    def index_of(moment: datetime) -> int:
        return bisect.bisect_right(boundaries, moment) - 1

    hourly_point = _point_expression(col(SessionHourly.hour), boundaries)
    bucket_point = _point_expression(col(SessionUserBucket.hour), boundaries)
    hourly_conditions = [*_hourly_conditions(project_id, start, end, environment), col(SessionHourly.release) == release]
    bucket_conditions = [*_bucket_conditions(project_id, start, end, environment), col(SessionUserBucket.release) == release]
    sessions = _session_counts(connection, hourly_conditions, hourly_point)
    users = _user_counts(connection, bucket_conditions, bucket_point, lambda bucket: index_of(bucket.hour))
    return [SeriesPoint(moment, sessions.get(index, SessionCounts()), users.get(index, UserCounts())) for index, moment in enumerate(boundaries)]


def session_breakdown(
    connection: Connection, project_id: int, dimension: str, since: datetime, until: datetime, release: str | None = None, environment: str | None = None
) -> list[BreakdownRow]:
    """Return session counts grouped by ``dimension`` (a key of BREAKDOWN_DIMENSIONS), most sessions first."""
    columns = [getattr(SessionHourly, name) for name in BREAKDOWN_DIMENSIONS[dimension]]
    start, end = hour_range(since, until)
    conditions = _hourly_conditions(project_id, start, end, environment)
    if release is not None:
        conditions.append(col(SessionHourly.release) == release)
    statement = select(*columns, *_count_columns()).where(*conditions).group_by(*columns)
    rows = []
    for row in connection.execute(statement):
        values = dict(zip(BREAKDOWN_DIMENSIONS[dimension], row[: len(columns)], strict=True))
        counts = SessionCounts(*(int(value or 0) for value in row[len(columns) :]))
        rows.append(
            BreakdownRow(
                release=values.get("release", ""),
                environment=values.get("environment", ""),
                os_name=values.get("os_name", ""),
                os_version=values.get("os_version", ""),
                device_model=values.get("device_model", ""),
                counts=counts,
            )
        )
    return sorted(rows, key=lambda row: (-row.counts.started, tuple(row.__dict__[name] for name in BREAKDOWN_DIMENSIONS[dimension])))


def count_users(connection: Connection, project_id: int, since: datetime, until: datetime, release: str | None = None, environment: str | None = None) -> UserCounts:
    """Return distinct users and distinct crashed users over the whole range."""
    start, end = hour_range(since, until)
    conditions = _bucket_conditions(project_id, start, end, environment)
    if release is not None:
        conditions.append(col(SessionUserBucket.release) == release)
    return _user_counts(connection, conditions, None, lambda bucket: None).get(None, UserCounts())


def _release_health(release: str, sessions: dict[Any, SessionCounts], users: dict[Any, UserCounts], crash_events: dict[str, int], total: int) -> ReleaseHealth:
    counts = sessions.get(release, SessionCounts())
    return ReleaseHealth(
        release=release,
        sessions=counts,
        users=users.get(release, UserCounts()),
        adoption=Ratio(counts.started, total),
        data_quality=DataQuality(crash_events.get(release, 0), counts.crashed),
    )


def _hourly_conditions(project_id: int, start: datetime, end: datetime, environment: str | None) -> list[ColumnElement[bool]]:
    conditions = [col(SessionHourly.project_id) == project_id, col(SessionHourly.hour) >= start, col(SessionHourly.hour) < end]
    if environment is not None:
        conditions.append(col(SessionHourly.environment) == environment)
    return conditions


def _bucket_conditions(project_id: int, start: datetime, end: datetime, environment: str | None) -> list[ColumnElement[bool]]:
    conditions = [col(SessionUserBucket.project_id) == project_id, col(SessionUserBucket.hour) >= start, col(SessionUserBucket.hour) < end]
    if environment is not None:
        conditions.append(col(SessionUserBucket.environment) == environment)
    return conditions


def _count_columns() -> list[Any]:
    return [func.sum(getattr(SessionHourly, name)) for name in ("started", "errored", "crashed", "abnormal", "exited")]


def _point_expression(column: Any, boundaries: Sequence[datetime]) -> Any:
    """Return a SQL expression giving the index of the interval that contains ``column``.

    The indexes are inlined rather than bound, because PostgreSQL cannot
    infer the type of a parameter in a CASE result.
    """
    whens: list[tuple[Any, Any]] = [(column < boundary, literal_column(str(index))) for index, boundary in enumerate(boundaries[1:])]
    return case(*whens, else_=literal_column(str(len(boundaries) - 1))) if whens else literal_column("0")


def _grouped(statement: Any, group: Any, *extra: Any) -> Any:
    """Add ``group`` as the last column and group by it and ``extra``; a ``group`` of None adds NULL and groups by ``extra`` only.

    Grouping goes through the label, so that PostgreSQL compares one
    expression rather than two copies with their own parameters.
    """
    if group is None:
        statement = statement.add_columns(literal_column("NULL").label("group_key"))
        return statement.group_by(*extra) if extra else statement
    key = group.label("group_key")
    return statement.add_columns(key).group_by(key, *extra)


def _session_counts(connection: Connection, conditions: list[ColumnElement[bool]], group: Any) -> dict[Any, SessionCounts]:
    statement = _grouped(select(*_count_columns()).where(*conditions), group)
    counts = {}
    for row in connection.execute(statement):
        if group is None and row[0] is None:
            continue  # an aggregate without GROUP BY returns one row of NULLs when nothing matched
        counts[row[-1]] = SessionCounts(*(int(value or 0) for value in row[:-1]))
    return counts


def _user_counts(connection: Connection, conditions: list[ColumnElement[bool]], group: Any, group_of: Callable[[Any], Hashable]) -> dict[Any, UserCounts]:
    """Count distinct users per group: in SQL where every bucket is exact, through merged sketches otherwise.

    ``group`` is the SQL expression of the group key and ``group_of`` the
    same key computed from a bucket row (id, release, hour, kind, sketched).
    """
    buckets = connection.execute(
        select(col(SessionUserBucket.id), col(SessionUserBucket.release), col(SessionUserBucket.hour), col(SessionUserBucket.kind), col(SessionUserBucket.sketch).isnot(None).label("sketched")).where(*conditions)
    ).all()
    if not buckets:
        return {}
    sketched_groups = {group_of(bucket) for bucket in buckets if bucket.sketched}
    exact: dict[Any, dict[str, int]] = defaultdict(dict)
    statement = (
        select(col(SessionUserBucket.kind), func.count(func.distinct(col(SessionUser.user_hash))))
        .select_from(SessionUser)
        .join(SessionUserBucket, col(SessionUserBucket.id) == col(SessionUser.bucket_id))
        .where(*conditions)
    )
    for kind, count, key in connection.execute(_grouped(statement, group, col(SessionUserBucket.kind))):
        exact[key][kind] = int(count)
    counts: dict[Any, UserCounts] = {}
    for key in {group_of(bucket) for bucket in buckets} - sketched_groups:
        counts[key] = UserCounts(exact[key].get(ALL_USERS, 0), exact[key].get(CRASHED_USERS, 0), exact=True)
    if sketched_groups:
        counts.update(_estimated_user_counts(connection, [bucket for bucket in buckets if group_of(bucket) in sketched_groups], group_of))
    return counts


def _estimated_user_counts(connection: Connection, buckets: Sequence[Any], group_of: Callable[[Any], Hashable]) -> dict[Any, UserCounts]:
    """Merge the sketches and the exact lists of the buckets of groups that contain at least one sketch."""
    sketches: dict[tuple[Hashable, str], HyperLogLog] = defaultdict(HyperLogLog)
    target = {bucket.id: (group_of(bucket), bucket.kind) for bucket in buckets}
    sketched_ids = [bucket.id for bucket in buckets if bucket.sketched]
    exact_ids = [bucket.id for bucket in buckets if not bucket.sketched]
    for chunk in _chunks(sketched_ids):
        for bucket_id, data in connection.execute(select(col(SessionUserBucket.id), col(SessionUserBucket.sketch)).where(col(SessionUserBucket.id).in_(chunk))):
            if data is not None:  # a bucket listed as sketched cannot lose its sketch
                sketches[target[bucket_id]].merge(HyperLogLog.from_bytes(data))
    for chunk in _chunks(exact_ids):
        for bucket_id, user_hash in connection.execute(select(col(SessionUser.bucket_id), col(SessionUser.user_hash)).where(col(SessionUser.bucket_id).in_(chunk))):
            sketches[target[bucket_id]].add_hash(user_hash)
    groups = {key for key, _ in target.values()}
    return {
        key: UserCounts(
            sketches[(key, ALL_USERS)].estimate() if (key, ALL_USERS) in sketches else 0,
            sketches[(key, CRASHED_USERS)].estimate() if (key, CRASHED_USERS) in sketches else 0,
            exact=False,
        )
        for key in groups
    }


def _crash_events(connection: Connection, project_id: int, start: datetime, end: datetime, environment: str | None, release: str | None) -> dict[str, int]:
    """Count events of crash issues per release, by the time the crash happened."""
    conditions = [col(Event.project_id) == project_id, col(Event.timestamp) >= start, col(Event.timestamp) < end, col(Issue.type) == CRASH]
    if environment is not None:
        conditions.append(col(Event.environment) == environment)
    if release is not None:
        conditions.append(col(Event.release) == release)
    statement = (
        select(col(Event.release), func.count())
        .select_from(Event)
        .join(Issue, col(Issue.id) == col(Event.issue_id))
        .where(*conditions)
        .group_by(col(Event.release))
    )
    return {str(release_name): int(count) for release_name, count in connection.execute(statement)}


def _chunks(ids: list[int]) -> list[list[int]]:
    return [ids[start : start + _IDS_PER_STATEMENT] for start in range(0, len(ids), _IDS_PER_STATEMENT)]
