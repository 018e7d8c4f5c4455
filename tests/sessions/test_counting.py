"""Session counting and crash-free arithmetic on a real database, with fixed datetimes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.engine import Engine

from service.db.models import Event, Issue
from service.db.session_models import SessionSeen, SessionUserBucket
from service.sessions import aggregate, stats
from service.sessions.aggregate import is_countable, purge_seen, record_sessions
from service.sessions.model import SessionAttributes, SessionGroup, SessionUpdate
from tests.sessions.conftest import USER_HASH_KEY

T0 = datetime(2026, 3, 2, 10, 15, tzinfo=UTC)
SINCE = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
UNTIL = datetime(2026, 3, 3, 0, 0, tzinfo=UTC)
OLD = "jp.clinic.app@2.3.0+45"
NEW = "jp.clinic.app@2.4.0+50"


def session(
    sid: str | None,
    status: str = "ok",
    *,
    init: bool = False,
    errors: int = 0,
    started: datetime = T0,
    release: str = OLD,
    environment: str = "production",
    user: str = "installation-1",
    duration: float | None = None,
    device: str = "iPhone15,2",
    os_version: str = "17.5",
) -> SessionUpdate:
    return SessionUpdate(
        session_id=sid or "",
        distinct_id=user,
        init=init,
        started=started,
        status=status,
        errors=errors,
        duration=duration,
        attributes=SessionAttributes(release, environment, "iOS", os_version, device),
    )


def record(engine: Engine, project_id: int, updates: Sequence[SessionUpdate] = (), groups: Sequence[SessionGroup] = ()) -> aggregate.RecordResult:
    with engine.begin() as connection:
        return record_sessions(connection, project_id, updates, groups, USER_HASH_KEY)


def health(engine: Engine, project_id: int, release: str = OLD, environment: str | None = None) -> stats.ReleaseHealth:
    with engine.connect() as connection:
        result = stats.get_release_health(connection, project_id, release, SINCE, UNTIL, environment)
    assert result is not None, f"release {release} has no figures"
    return result


def test_init_then_crash_counts_once(engine: Engine, project_id: int) -> None:
    record(engine, project_id, [session("a", init=True)])
    record(engine, project_id, [session("a", "crashed", errors=1)])
    record(engine, project_id, [session("a", "crashed", errors=1)])

    counts = health(engine, project_id).sessions

    assert counts == stats.SessionCounts(started=1, errored=1, crashed=1, abnormal=0, exited=0)
    assert health(engine, project_id).crash_free_sessions == stats.Ratio(0, 1)


def test_out_of_order_updates_count_once(engine: Engine, project_id: int) -> None:
    record(engine, project_id, [session("b", "crashed", errors=1)])
    record(engine, project_id, [session("b", "errored", errors=1)])
    record(engine, project_id, [session("b", init=True)])

    counts = health(engine, project_id).sessions

    assert counts.started == 1
    assert counts.crashed == 1
    assert counts.errored == 1


def test_repeats_within_one_batch_count_once(engine: Engine, project_id: int) -> None:
    result = record(engine, project_id, [session("c", init=True), session("c", init=True), session("c", "exited", duration=40.0)])

    counts = health(engine, project_id).sessions

    assert counts.started == 1
    assert counts.exited == 1
    assert result.repeated_states == 2  # "started" of the second init and of the exited update


def test_lost_init_still_counts_started(engine: Engine, project_id: int) -> None:
    record(engine, project_id, [session("d", "exited")])

    assert health(engine, project_id).sessions.started == 1


def test_updates_without_id_count_each_time(engine: Engine, project_id: int) -> None:
    record(engine, project_id, [session(None, "exited"), session(None, "exited")])

    counts = health(engine, project_id).sessions

    assert counts.started == 2
    assert counts.exited == 2


def test_errored_includes_crashed_and_abnormal(engine: Engine, project_id: int) -> None:
    record(engine, project_id, [session("e1", "ok", errors=2), session("e2", "abnormal"), session("e3", "crashed"), session("e4", "exited")])

    counts = health(engine, project_id).sessions

    assert counts == stats.SessionCounts(started=4, errored=3, crashed=1, abnormal=1, exited=1)
    assert counts.healthy == 1


def test_sessions_group_adds_its_counts(engine: Engine, project_id: int) -> None:
    group = SessionGroup(T0, "", exited=5, errored=2, abnormal=1, crashed=2, attributes=SessionAttributes(OLD, "production"))

    record(engine, project_id, groups=[group])

    counts = health(engine, project_id).sessions
    assert counts == stats.SessionCounts(started=10, errored=5, crashed=2, abnormal=1, exited=7)


def test_crash_free_figures_have_numerators(engine: Engine, project_id: int) -> None:
    old_sessions = [session(f"old-{index}", "exited", init=True, user=f"user-{index % 4}") for index in range(8)]
    old_sessions += [session(f"old-crash-{index}", "crashed", init=True, errors=1, user="user-0") for index in range(2)]
    new_sessions = [session(f"new-{index}", "exited", init=True, release=NEW, user=f"user-{index}") for index in range(30)]
    record(engine, project_id, old_sessions + new_sessions)

    result = health(engine, project_id)

    assert result.crash_free_sessions == stats.Ratio(8, 10)
    assert result.crash_free_sessions.value == pytest.approx(0.8)
    assert result.users == stats.UserCounts(users=4, crashed_users=1, exact=True)
    assert result.crash_free_users == stats.Ratio(3, 4)
    assert result.adoption == stats.Ratio(10, 40)
    assert result.data_quality == stats.DataQuality(crash_events=0, crashed_sessions=2)


def test_users_are_distinct_across_hours(engine: Engine, project_id: int) -> None:
    updates = [session(f"h-{hour}", "exited", started=SINCE + timedelta(hours=hour), user="same-installation") for hour in range(5)]
    record(engine, project_id, updates)

    result = health(engine, project_id)

    assert result.sessions.started == 5
    assert result.users.users == 1


def test_list_orders_releases_by_sessions(engine: Engine, project_id: int) -> None:
    record(engine, project_id, [session(f"l-old-{index}", init=True) for index in range(2)])
    record(engine, project_id, [session(f"l-new-{index}", init=True, release=NEW) for index in range(3)])

    with engine.connect() as connection:
        listed = stats.list_release_health(connection, project_id, SINCE, UNTIL)

    assert [item.release for item in listed] == [NEW, OLD]
    assert [item.adoption for item in listed] == [stats.Ratio(3, 5), stats.Ratio(2, 5)]


def test_environment_filter(engine: Engine, project_id: int) -> None:
    record(engine, project_id, [session("p1", "crashed", environment="production"), session("s1", "exited", environment="staging", user="tester")])

    production = health(engine, project_id, environment="production")
    everything = health(engine, project_id)

    assert production.sessions.started == 1
    assert production.users.users == 1
    assert everything.sessions.started == 2
    assert everything.users.users == 2
    assert everything.adoption == stats.Ratio(2, 2)


def test_users_become_a_sketch_past_the_bound(engine: Engine, project_id: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aggregate, "EXACT_USERS_PER_BUCKET", 50)
    busy_hour = [session(f"busy-{index}", "exited", user=f"busy-user-{index}") for index in range(400)]
    busy_hour += [session(f"busy-crash-{index}", "crashed", user=f"busy-user-{index}") for index in range(10)]
    quiet_hour = [session(f"quiet-{index}", "exited", started=T0 + timedelta(hours=3), user=f"quiet-user-{index}") for index in range(20)]

    result = record(engine, project_id, busy_hour[:200])
    record(engine, project_id, busy_hour[200:] + quiet_hour)

    assert len(result.sketched_buckets) == 1
    with engine.connect() as connection:
        sketched = connection.execute(select(func.count()).where(SessionUserBucket.project_id == project_id, SessionUserBucket.sketch.isnot(None))).scalar_one()  # type: ignore[union-attr]
        quiet = stats.count_users(connection, project_id, T0 + timedelta(hours=3), T0 + timedelta(hours=4))
        whole_day = stats.count_users(connection, project_id, SINCE, UNTIL)
    assert sketched == 1
    assert quiet == stats.UserCounts(users=20, crashed_users=0, exact=True)
    assert not whole_day.exact
    assert whole_day.users == pytest.approx(420, rel=0.05)
    assert whole_day.crashed_users == 10  # linear counting is exact for so few values
    assert health(engine, project_id).users.exact is False


def test_series_per_hour_and_day(engine: Engine, project_id: int) -> None:
    record(
        engine,
        project_id,
        [
            session("s-1", "exited", started=datetime(2026, 3, 2, 9, 5, tzinfo=UTC), user="a"),
            session("s-2", "crashed", started=datetime(2026, 3, 2, 9, 50, tzinfo=UTC), user="b"),
            session("s-3", "exited", started=datetime(2026, 3, 2, 12, 0, tzinfo=UTC), user="a"),
            session("s-4", "exited", started=datetime(2026, 3, 3, 1, 0, tzinfo=UTC), user="c"),
        ],
    )

    with engine.connect() as connection:
        hours = stats.release_series(connection, project_id, OLD, datetime(2026, 3, 2, 9, tzinfo=UTC), datetime(2026, 3, 2, 13, tzinfo=UTC), "hour")
        days = stats.release_series(connection, project_id, OLD, datetime(2026, 3, 2, 9, 30, tzinfo=UTC), datetime(2026, 3, 4, tzinfo=UTC), "day")

    assert [point.start.hour for point in hours] == [9, 10, 11, 12]
    assert [point.sessions.started for point in hours] == [2, 0, 0, 1]
    assert [point.sessions.crashed for point in hours] == [1, 0, 0, 0]
    assert [point.users.users for point in hours] == [2, 0, 0, 1]
    assert [point.start for point in days] == [datetime(2026, 3, 2, 9, tzinfo=UTC), datetime(2026, 3, 3, tzinfo=UTC)]
    assert [point.sessions.started for point in days] == [3, 1]
    assert [point.users for point in days] == [stats.UserCounts(2, 1, True), stats.UserCounts(1, 0, True)]


def test_breakdown_by_device_and_os(engine: Engine, project_id: int) -> None:
    record(
        engine,
        project_id,
        [
            session("b-1", "crashed", device="iPhone15,2", os_version="17.5"),
            session("b-2", "exited", device="iPhone15,2", os_version="17.4"),
            session("b-3", "exited", device="iPhone9,4", os_version="17.5"),
        ],
    )

    with engine.connect() as connection:
        devices = stats.session_breakdown(connection, project_id, "device_model", SINCE, UNTIL, release=OLD)
        versions = stats.session_breakdown(connection, project_id, "os", SINCE, UNTIL)

    assert [(row.device_model, row.counts.started, row.counts.crashed) for row in devices] == [("iPhone15,2", 2, 1), ("iPhone9,4", 1, 0)]
    assert devices[0].crash_free_sessions == stats.Ratio(1, 2)
    assert [(row.os_name, row.os_version, row.counts.started) for row in versions] == [("iOS", "17.5", 2), ("iOS", "17.4", 1)]


def test_crash_events_beyond_crashed_sessions_warn(engine: Engine, project_id: int) -> None:
    record(engine, project_id, [session("q-1", "crashed"), session("q-2", "crashed", user="other")])
    record(engine, project_id, [session("q-3", "crashed", release=NEW)])
    add_crash_events(engine, project_id, OLD, 3)
    add_crash_events(engine, project_id, NEW, 1)

    old = health(engine, project_id).data_quality
    new = health(engine, project_id, NEW).data_quality

    assert old == stats.DataQuality(crash_events=3, crashed_sessions=2)
    assert old.warning
    assert new == stats.DataQuality(crash_events=1, crashed_sessions=1)
    assert not new.warning


def test_release_with_only_crash_events_is_listed(engine: Engine, project_id: int) -> None:
    add_crash_events(engine, project_id, NEW, 2)

    with engine.connect() as connection:
        listed = stats.list_release_health(connection, project_id, SINCE, UNTIL)

    assert [(item.release, item.sessions.started, item.data_quality.warning) for item in listed] == [(NEW, 0, True)]
    assert listed[0].crash_free_sessions.value is None


def test_unknown_release_has_no_figures(engine: Engine, project_id: int) -> None:
    with engine.connect() as connection:
        assert stats.get_release_health(connection, project_id, "missing@1.0", SINCE, UNTIL) is None


def test_hour_range_widens_to_whole_hours() -> None:
    start, end = stats.hour_range(datetime(2026, 3, 2, 10, 15, tzinfo=UTC), datetime(2026, 3, 2, 12, 0, 1, tzinfo=UTC))

    assert start == datetime(2026, 3, 2, 10, tzinfo=UTC)
    assert end == datetime(2026, 3, 2, 13, tzinfo=UTC)


@pytest.mark.parametrize(
    ("started", "countable"),
    [(T0 - timedelta(days=5), True), (T0 - timedelta(days=5, seconds=1), False), (T0 + timedelta(hours=23), True), (T0 + timedelta(days=2), False)],
)
def test_countable_window(started: datetime, countable: bool) -> None:
    assert is_countable(started, T0) is countable


def test_purge_keeps_recent_seen_states(engine: Engine, project_id: int) -> None:
    record(engine, project_id, [session("old", started=T0 - timedelta(days=8)), session("recent", started=T0 - timedelta(days=1))])

    with engine.begin() as connection:
        purge_seen(connection, T0)
        left = connection.execute(select(SessionSeen.session_key).where(SessionSeen.project_id == project_id)).scalars().all()

    assert left == [aggregate.session_key("recent")]


def add_crash_events(engine: Engine, project_id: int, release: str, count: int) -> None:
    with engine.begin() as connection:
        issue_id = connection.execute(
            insert(Issue)
            .values(project_id=project_id, fingerprint=uuid.uuid4().hex, title="SIGSEGV", type="crash", first_seen=T0, last_seen=T0, grouping="[]")
            .returning(Issue.id)
        ).scalar_one()
        for _ in range(count):
            connection.execute(
                insert(Event).values(
                    project_id=project_id, event_id=uuid.uuid4().hex, issue_id=issue_id, received_at=T0, timestamp=T0, release=release, environment="production", report=b""
                )
            )
