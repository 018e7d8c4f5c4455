"""Endpoints for the debug files crashes needed, the missing ones, and the progress of reprocessing."""

from __future__ import annotations

import shlex
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from service.api.auth import authorize_project, runtime_of
from service.symbols.missing import NeedRow, load_needs, load_status

MAX_RELEASE_CHARS = 200


def upload_command(base_url: str, slug: str, path: str = "PATH") -> str:
    """Return the shindan command that uploads every debug file and mapping under ``path``."""
    return " ".join(["shindan", "upload-symbols", "--url", shlex.quote(base_url), "--token", '"$SHINDAN_TOKEN"', "--project", shlex.quote(slug), path])


def sentry_cli_commands(base_url: str, slug: str, proguard_uuids: list[str]) -> list[str]:
    """Return the sentry-cli commands that upload the same files; one installation is one organization."""
    prefix = ["sentry-cli", "--url", shlex.quote(base_url), "--auth-token", '"$SHINDAN_TOKEN"']
    commands = [" ".join([*prefix, "debug-files", "upload", "--org", "shindan", "--project", shlex.quote(slug), "PATH"])]
    for uuid in proguard_uuids:
        commands.append(" ".join([*prefix, "upload-proguard", "--org", "shindan", "--project", shlex.quote(slug), "--uuid", uuid, "mapping.txt"]))
    return commands


def release_param(request: Request) -> str | None:
    raw = request.query_params.get("release")
    if raw is None:
        return None
    if len(raw) > MAX_RELEASE_CHARS:
        raise HTTPException(400, f"invalid release: longer than {MAX_RELEASE_CHARS} characters")
    return raw


def flag_param(request: Request, name: str) -> bool:
    raw = (request.query_params.get(name) or "").lower()
    if raw in ("", "0", "false", "no"):
        return False
    if raw in ("1", "true", "yes"):
        return True
    raise HTTPException(400, f"invalid {name} {raw[:20]!r}: expected true or false")


async def _needs_response(request: Request, only_missing: bool) -> JSONResponse:
    project = authorize_project(request, request.path_params["slug"], "project:read")
    release = release_param(request)
    include_system = flag_param(request, "include_system")
    runtime = runtime_of(request)

    def load() -> list[NeedRow]:
        with runtime.engine.connect() as connection:
            return load_needs(connection, project.id or 0, release, include_system)

    rows = await run_in_threadpool(load)
    complete = all(row.available for row in rows if row.in_app)
    listed = [row for row in rows if not row.available] if only_missing else rows
    missing_mappings = [row.debug_id for row in rows if row.kind == "proguard" and not row.available]
    body: dict[str, Any] = {
        "release": release,
        "complete": complete,
        "needed": [row.as_json() for row in listed],
        "upload_command": upload_command(runtime.settings.base_url, project.slug),
        "sentry_cli_commands": sentry_cli_commands(runtime.settings.base_url, project.slug, missing_mappings),
    }
    if only_missing:
        # The same list under the name of this endpoint, for clients that read "missing".
        body["missing"] = body["needed"]
    return JSONResponse(body)


async def needed_symbols(request: Request) -> JSONResponse:
    return await _needs_response(request, only_missing=False)


async def missing_symbols(request: Request) -> JSONResponse:
    return await _needs_response(request, only_missing=True)


async def symbols_status(request: Request) -> JSONResponse:
    project = authorize_project(request, request.path_params["slug"], "project:read")

    def load() -> dict[str, int]:
        with runtime_of(request).engine.connect() as connection:
            status = load_status(connection, project.id or 0)
        return {"reprocess_jobs_pending": status.jobs_pending, "events_waiting": status.events_waiting, "events_ready": status.events_ready}

    return JSONResponse(await run_in_threadpool(load))


routes = [
    Route("/api/v1/projects/{slug}/symbols/needed", needed_symbols, methods=["GET"]),
    Route("/api/v1/projects/{slug}/symbols/missing", missing_symbols, methods=["GET"]),
    Route("/api/v1/projects/{slug}/symbols/status", symbols_status, methods=["GET"]),
]
