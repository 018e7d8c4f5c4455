"""JSON forms of the session figures, shared by the API and the web pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from service.sessions.stats import BREAKDOWN_DIMENSIONS, BreakdownRow, DataQuality, Ratio, ReleaseHealth, SeriesPoint, SessionCounts, UserCounts

# Token of the data-quality warning in the JSON; pages translate it.
CRASH_EVENTS_EXCEED_CRASHED_SESSIONS = "crash_events_exceed_crashed_sessions"


def render_ratio(ratio: Ratio) -> dict[str, Any]:
    value = ratio.value
    return {"value": round(value, 6) if value is not None else None, "numerator": ratio.numerator, "denominator": ratio.denominator}


def render_session_counts(counts: SessionCounts) -> dict[str, Any]:
    return {
        "sessions": counts.started,
        "crashed_sessions": counts.crashed,
        "errored_sessions": counts.errored,
        "abnormal_sessions": counts.abnormal,
        "healthy_sessions": counts.healthy,
        "crash_free_sessions": render_ratio(counts.crash_free),
    }


def render_user_counts(users: UserCounts) -> dict[str, Any]:
    return {"users": users.users, "crashed_users": users.crashed_users, "users_exact": users.exact, "crash_free_users": render_ratio(users.crash_free)}


def render_data_quality(quality: DataQuality) -> dict[str, Any]:
    return {
        "warning": CRASH_EVENTS_EXCEED_CRASHED_SESSIONS if quality.warning else None,
        "crash_events": quality.crash_events,
        "crashed_sessions": quality.crashed_sessions,
    }


def render_release_health(health: ReleaseHealth) -> dict[str, Any]:
    return {
        "release": health.release,
        **render_session_counts(health.sessions),
        **render_user_counts(health.users),
        "adoption": render_ratio(health.adoption),
        "data_quality": render_data_quality(health.data_quality),
    }


def render_series_point(point: SeriesPoint) -> dict[str, Any]:
    return {"start": render_time(point.start), **render_session_counts(point.sessions), **render_user_counts(point.users)}


def render_breakdown_row(row: BreakdownRow, dimension: str) -> dict[str, Any]:
    values = {name: getattr(row, name) for name in BREAKDOWN_DIMENSIONS[dimension]}
    return {**values, **render_session_counts(row.counts)}


def render_time(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
