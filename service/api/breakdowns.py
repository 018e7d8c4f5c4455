"""Breakdowns of an issue's and a release's events (and a release's sessions) by device, OS and release."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from service import breakdowns
from service.api.auth import authorize_project, require, runtime_of
from service.clock import utc_now
from service.db.models import Issue

# Time ranges a release breakdown accepts, as ``?period=``.
PERIODS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "14d": timedelta(days=14), "30d": timedelta(days=30), "90d": timedelta(days=90)}
DEFAULT_PERIOD = "30d"

# JSON keys of the dimensions.
_KEYS = {breakdowns.DEVICE: "devices", breakdowns.OS: "os_versions", breakdowns.RELEASE: "releases"}


def limit_param(request: Request) -> int:
    raw = request.query_params.get("limit")
    if raw is None:
        return breakdowns.DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= breakdowns.MAX_LIMIT:
        raise HTTPException(400, f"invalid limit {raw[:20]!r}: expected an integer from 1 to {breakdowns.MAX_LIMIT}")
    return int(raw)


def period_param(request: Request, now: datetime) -> tuple[str, datetime, datetime]:
    """Return the period name and its ``[since, until)`` range ending at ``now``."""
    period = request.query_params.get("period") or DEFAULT_PERIOD
    if period not in PERIODS:
        raise HTTPException(400, f"invalid period {period[:20]!r}: expected one of {', '.join(PERIODS)}")
    return period, now - PERIODS[period], now


def render_breakdowns(result: dict[str, breakdowns.Breakdown]) -> dict[str, Any]:
    return {_KEYS[dimension]: breakdowns.render_breakdown(breakdown) for dimension, breakdown in result.items()}


async def issue_breakdowns(request: Request) -> JSONResponse:
    raw = request.path_params["issue_id"]
    engine = runtime_of(request).engine
    with Session(engine) as session:
        issue = session.get(Issue, int(raw))
    if issue is None:
        require(request, "project:read")
        raise HTTPException(404, f"issue {raw} not found")
    require(request, "project:read", issue.project_id)
    limit = limit_param(request)

    def load() -> dict[str, Any]:
        with engine.connect() as connection:
            result = breakdowns.issue_breakdowns(connection, issue.id or 0, limit)
        return {"issue_id": issue.id, "limit": limit, **render_breakdowns(result)}

    return JSONResponse(await run_in_threadpool(load))


async def release_breakdowns(request: Request) -> JSONResponse:
    project = authorize_project(request, request.path_params["slug"], "project:read")
    release = request.path_params["release"]
    limit = limit_param(request)
    period, since, until = period_param(request, utc_now())
    engine = runtime_of(request).engine

    def load() -> dict[str, Any]:
        with engine.connect() as connection:
            result = breakdowns.release_breakdowns(connection, project.id or 0, release, since, until, limit)
        if all(breakdown.total_events == 0 and not breakdown.total_sessions for breakdown in result.values()):
            raise HTTPException(404, f"release {release[:200]!r} has no events or sessions in the last {period}")
        return {"release": release, "period": period, "since": since.isoformat(), "until": until.isoformat(), "limit": limit, **render_breakdowns(result)}

    return JSONResponse(await run_in_threadpool(load))


routes = [
    Route("/api/v1/issues/{issue_id:int}/breakdowns", issue_breakdowns, methods=["GET"]),
    Route("/api/v1/projects/{slug}/releases/{release}/breakdowns", release_breakdowns, methods=["GET"]),
]
