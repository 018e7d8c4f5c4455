"""Breakdowns of an issue's and a release's events (and a release's sessions) by device, OS and release.

The release breakdown takes the same ``since``, ``until`` (default: the last
7 days) and ``environment`` parameters as the release health API.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from service import breakdowns
from service.api.auth import authorize_project, require, runtime_of
from service.api.releases import environment_param, range_params
from service.clock import utc_now
from service.db.models import Issue
from service.sessions.render import render_time

# JSON keys of the dimensions.
_KEYS = {breakdowns.DEVICE: "devices", breakdowns.OS: "os_versions", breakdowns.RELEASE: "releases"}


def limit_param(request: Request) -> int:
    raw = request.query_params.get("limit")
    if raw is None:
        return breakdowns.DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= breakdowns.MAX_LIMIT:
        raise HTTPException(400, f"invalid limit {raw[:20]!r}: expected an integer from 1 to {breakdowns.MAX_LIMIT}")
    return int(raw)


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
    since, until = range_params(request, utc_now())
    environment = environment_param(request)
    engine = runtime_of(request).engine

    def load() -> dict[str, Any]:
        with engine.connect() as connection:
            result = breakdowns.release_breakdowns(connection, project.id or 0, release, since, until, limit, environment)
        if all(breakdown.total_events == 0 and not breakdown.total_sessions for breakdown in result.values()):
            raise HTTPException(404, f"release {release[:200]!r} has no sessions or crash events between {render_time(since)} and {render_time(until)}")
        return {
            "release": release,
            "since": render_time(since),
            "until": render_time(until),
            "environment": environment,
            "limit": limit,
            **render_breakdowns(result),
        }

    return JSONResponse(await run_in_threadpool(load))


routes = [
    Route("/api/v1/issues/{issue_id:int}/breakdowns", issue_breakdowns, methods=["GET"]),
    Route("/api/v1/projects/{slug}/releases/{release}/breakdowns", release_breakdowns, methods=["GET"]),
]
