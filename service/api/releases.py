"""Release health: sessions, users, crash-free figures and adoption per release, with trends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from service.api.auth import authorize_project, runtime_of
from service.clock import utc_now
from service.sessions import stats
from service.sessions.render import render_release_health, render_series_point, render_time

DEFAULT_RANGE = timedelta(days=7)
# Ranges up to this long get an hourly series by default, longer ones a daily one.
HOURLY_DEFAULT_UP_TO = timedelta(days=2)
MAX_POINTS = {"hour": 24 * 31, "day": 366}


def time_param(request: Request, name: str) -> datetime | None:
    """Read an ISO 8601 time or a Unix time in seconds; a time without an offset is UTC."""
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        if raw.replace(".", "", 1).isdigit():
            return datetime.fromtimestamp(float(raw), UTC)
        moment = datetime.fromisoformat(raw)
    except (ValueError, OverflowError, OSError):
        raise HTTPException(400, f"invalid {name} {raw[:40]!r}: expected an ISO 8601 time such as 2026-03-02T10:00:00Z or a Unix time in seconds") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def range_params(request: Request, now: datetime) -> tuple[datetime, datetime]:
    """Return ``[since, until)`` widened to whole hours; the default is the last 7 days."""
    until = time_param(request, "until") or now
    since = time_param(request, "since") or until - DEFAULT_RANGE
    if since >= until:
        raise HTTPException(400, "invalid range: since must be earlier than until")
    return stats.hour_range(since, until)


def environment_param(request: Request) -> str | None:
    return request.query_params.get("environment") or None


def interval_param(request: Request, since: datetime, until: datetime) -> str:
    interval = request.query_params.get("interval") or ("hour" if until - since <= HOURLY_DEFAULT_UP_TO else "day")
    if interval not in stats.INTERVALS:
        raise HTTPException(400, f"invalid interval {interval[:20]!r}: expected hour or day")
    points = (until - since) / stats.INTERVALS[interval]
    if points > MAX_POINTS[interval]:
        raise HTTPException(400, f"the range has {int(points)} {interval}s; at most {MAX_POINTS[interval]} are allowed: use a shorter range or interval=day")
    return interval


def _range_json(since: datetime, until: datetime, environment: str | None) -> dict[str, Any]:
    return {"since": render_time(since), "until": render_time(until), "environment": environment}


async def list_releases(request: Request) -> JSONResponse:
    project = await run_in_threadpool(authorize_project, request, request.path_params["slug"], "project:read")
    since, until = range_params(request, utc_now())
    environment = environment_param(request)
    engine = runtime_of(request).engine

    def load() -> list[stats.ReleaseHealth]:
        with engine.connect() as connection:
            return stats.list_release_health(connection, project.id or 0, since, until, environment)

    releases = await run_in_threadpool(load)
    return JSONResponse({**_range_json(since, until, environment), "releases": [render_release_health(health) for health in releases]})


async def release_detail(request: Request) -> JSONResponse:
    project = await run_in_threadpool(authorize_project, request, request.path_params["slug"], "project:read")
    release = request.path_params["release"]
    since, until = range_params(request, utc_now())
    environment = environment_param(request)
    interval = interval_param(request, since, until)
    engine = runtime_of(request).engine

    def load() -> tuple[stats.ReleaseHealth | None, list[stats.SeriesPoint]]:
        with engine.connect() as connection:
            health = stats.get_release_health(connection, project.id or 0, release, since, until, environment)
            if health is None:
                return None, []
            return health, stats.release_series(connection, project.id or 0, release, since, until, interval, environment)

    health, series = await run_in_threadpool(load)
    if health is None:
        raise HTTPException(404, f"release {release[:200]!r} has no sessions or crash events between {render_time(since)} and {render_time(until)}")
    return JSONResponse(
        {
            **render_release_health(health),
            **_range_json(since, until, environment),
            "interval": interval,
            "series": [render_series_point(point) for point in series],
        }
    )


routes = [
    Route("/api/v1/projects/{slug}/releases", list_releases, methods=["GET"]),
    Route("/api/v1/projects/{slug}/releases/{release}", release_detail, methods=["GET"]),
]
