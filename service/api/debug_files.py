"""The symbol upload API for release pipelines."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from service.api.auth import authorize_project, runtime_of
from service.db.models import DebugFile
from service.symbols.index import save_debug_files
from symbolication.debug_files import DebugFileError, FoundDebugFile, inspect_debug_file

logger = logging.getLogger("shindan.symbols")

MAX_MISSING_QUERY = 10000


def store_debug_files(request: Request, project_id: int, found: list[FoundDebugFile]) -> list[dict[str, Any]]:
    runtime = runtime_of(request)
    described = save_debug_files(runtime.engine, runtime.symbol_store, project_id, found)
    runtime.debug_files.forget(project_id)
    return described


async def upload_debug_file(request: Request) -> JSONResponse:
    project = authorize_project(request, request.path_params["slug"], "symbols:write")
    limit = runtime_of(request).settings.max_debug_file_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"upload is larger than the limit of {limit} bytes (setting SHINDAN_MAX_DEBUG_FILE_BYTES)")
    async with request.form(max_files=1, max_fields=10) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise HTTPException(400, "missing multipart field 'file'")
        mapping_uuid = form.get("uuid")
        if mapping_uuid is not None and not isinstance(mapping_uuid, str):
            raise HTTPException(400, "field 'uuid' must be text")
        # NOTE: the whole file is read into memory; very large dSYMs need as much RAM.
        data = await upload.read()
        filename = upload.filename or "upload"
    if len(data) > limit:
        raise HTTPException(413, f"upload is larger than the limit of {limit} bytes (setting SHINDAN_MAX_DEBUG_FILE_BYTES)")
    try:
        found = await run_in_threadpool(inspect_debug_file, data, filename, mapping_uuid or None)
    except DebugFileError as error:
        logger.info("project=%s upload %r rejected: %s", project.slug, filename, error)
        raise HTTPException(400, str(error)) from None
    described = await run_in_threadpool(store_debug_files, request, project.id or 0, found)
    logger.info("project=%s upload %r: %d debug file(s), %d new", project.slug, filename, len(described), sum(1 for d in described if d["created"]))
    return JSONResponse({"files": described})


async def missing_debug_files(request: Request) -> JSONResponse:
    project = authorize_project(request, request.path_params["slug"], "symbols:write")
    try:
        body = await request.json()
    except ValueError:
        raise HTTPException(400, "body is not valid JSON") from None
    debug_ids = body.get("debug_ids") if isinstance(body, dict) else None
    if not isinstance(debug_ids, list) or not all(isinstance(item, str) for item in debug_ids):
        raise HTTPException(400, "expected a JSON object with 'debug_ids', a list of strings")
    if len(debug_ids) > MAX_MISSING_QUERY:
        raise HTTPException(413, f"at most {MAX_MISSING_QUERY} debug ids per request")
    wanted = {item.lower() for item in debug_ids}

    def known() -> set[str]:
        with runtime_of(request).engine.connect() as connection:
            rows = connection.execute(select(DebugFile.debug_id).where(DebugFile.project_id == project.id, DebugFile.debug_id.in_(wanted)))  # type: ignore[attr-defined]
            return {row.debug_id for row in rows}

    present = await run_in_threadpool(known)
    return JSONResponse({"missing": sorted(wanted - present)})


async def list_debug_files(request: Request) -> JSONResponse:
    project = authorize_project(request, request.path_params["slug"], "project:read")

    def load() -> list[dict[str, Any]]:
        with runtime_of(request).engine.connect() as connection:
            rows = connection.execute(select(DebugFile).where(DebugFile.project_id == project.id).order_by(DebugFile.id.desc()))  # type: ignore[union-attr]
            return [
                {
                    "kind": row.kind,
                    "debug_id": row.debug_id,
                    "code_id": row.code_id,
                    "arch": row.arch or None,
                    "features": row.features.split(),
                    "object_name": row.object_name,
                    "sha256": row.blob_sha256,
                    "size": row.size,
                    "uploaded_at": row.created_at.isoformat(),
                }
                for row in rows
            ]

    return JSONResponse(await run_in_threadpool(load))


routes = [
    Route("/api/v1/projects/{slug}/debug-files", upload_debug_file, methods=["POST"]),
    Route("/api/v1/projects/{slug}/debug-files", list_debug_files, methods=["GET"]),
    Route("/api/v1/projects/{slug}/debug-files/missing", missing_debug_files, methods=["POST"]),
]
