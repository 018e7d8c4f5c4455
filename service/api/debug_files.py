"""The symbol upload API for release pipelines.

An upload is streamed from the request body straight into a workspace file of the
symbol store, hashed on the way and cut off at SHINDAN_MAX_DEBUG_FILE_BYTES. Inspection
then builds each object's SymCache once, and storing the upload hard-links that file
and that SymCache into the store.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any, BinaryIO

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from service.api.auth import authorize_project, runtime_of
from service.db.models import DebugFile
from service.symbols.index import feature_rank, save_debug_files
from symbolication.debug_files import (
    DebugFileError,
    FoundDebugFile,
    InspectionResult,
    display_name,
    inspect_staged_upload,
    normalize_uuid,
    require_found,
)
from symbolication.staging import StagedFile, UploadTooLargeError, UploadWorkspace

logger = logging.getLogger("shindan.symbols")

MAX_MISSING_QUERY = 10000
# `uuid` may repeat: a mapping is indexed under every UUID it is uploaded with.
MAX_FORM_FIELDS = 32
MAX_FIELD_BYTES = 1024


def store_debug_files(
    request: Request, project_id: int, found: list[FoundDebugFile], aliases: list[str] | None = None
) -> list[dict[str, Any]]:
    runtime = runtime_of(request)
    described = save_debug_files(runtime.engine, runtime.symbol_store, project_id, found, aliases or ())
    runtime.debug_files.forget(project_id)
    return described


class _UploadForm:
    """A multipart/form-data body read as a stream: the `file` part into a workspace file, text fields in memory."""

    def __init__(self, workspace: UploadWorkspace, limit: int) -> None:
        self._workspace = workspace
        self._limit = limit
        self.fields: list[tuple[str, str]] = []
        self.file: StagedFile | None = None
        self.filename = ""
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._field_name = ""
        self._field_value = bytearray()
        self._is_file = False
        self._output: BinaryIO | None = None
        self._path: Path | None = None
        self._digest = hashlib.sha256()
        self._size = 0
        self._pending: list[bytes] = []
        self.error: str | None = None

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self._on_part_begin,
            "on_header_field": self._on_header_field,
            "on_header_value": self._on_header_value,
            "on_header_end": self._on_header_end,
            "on_headers_finished": self._on_headers_finished,
            "on_part_data": self._on_part_data,
            "on_part_end": self._on_part_end,
        }

    def _on_part_begin(self) -> None:
        self._disposition = b""
        self._field_value = bytearray()
        self._is_file = False

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _on_header_end(self) -> None:
        if self._header_name.lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name = b""
        self._header_value = b""

    def _on_headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        self._field_name = options.get(b"name", b"").decode("utf-8", errors="replace")
        if self._field_name == "file" and b"filename" in options:
            if self.file is not None or self._output is not None:
                raise _FormError("send one file per request in the multipart field 'file'")
            self._is_file = True
            self.filename = options[b"filename"].decode("utf-8", errors="replace") or "upload"
            self._path = self._workspace.new_path()
            self._output = self._path.open("wb")
        elif len(self.fields) >= MAX_FORM_FIELDS:
            raise _FormError(f"too many multipart fields: at most {MAX_FORM_FIELDS} are accepted")

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._is_file:
            self._size += len(chunk)
            if self._size > self._limit:
                raise UploadTooLargeError(self._limit)
            self._digest.update(chunk)
            self._pending.append(chunk)
            return
        if len(self._field_value) + len(chunk) > MAX_FIELD_BYTES:
            raise _FormError(f"field {self._field_name!r} is longer than {MAX_FIELD_BYTES} bytes")
        self._field_value.extend(chunk)

    def _on_part_end(self) -> None:
        if self._is_file:
            self.flush()
            assert self._output is not None and self._path is not None
            self._output.close()
            self._output = None
            self.file = StagedFile(self._path, self._digest.hexdigest(), self._size, self._workspace)
        else:
            self.fields.append((self._field_name, self._field_value.decode("utf-8", errors="replace")))

    def flush(self) -> None:
        """Write the file data received so far. The caller runs this off the event loop."""
        if self._output is not None and self._pending:
            self._output.write(b"".join(self._pending))
        self._pending.clear()

    def close(self) -> None:
        if self._output is not None:
            self._output.close()
            self._output = None


class _FormError(Exception):
    """A multipart body that breaks the upload form's rules. The message is shown to the client."""


async def _read_upload_form(request: Request, workspace: UploadWorkspace, limit: int) -> _UploadForm:
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise HTTPException(400, "expected a multipart/form-data body with the debug file in the field 'file'")
    form = _UploadForm(workspace, limit)
    parser = MultipartParser(boundary, form.callbacks())  # type: ignore[arg-type]
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            await run_in_threadpool(form.flush)
        parser.finalize()
    except UploadTooLargeError as error:
        raise HTTPException(
            413, f"upload is larger than the limit of {error.limit} bytes (setting SHINDAN_MAX_DEBUG_FILE_BYTES)"
        ) from None
    except _FormError as error:
        raise HTTPException(400, str(error)) from None
    except FormParserError:
        raise HTTPException(400, "the multipart/form-data body is invalid or incomplete") from None
    finally:
        form.close()
    return form


async def upload_debug_file(request: Request) -> JSONResponse:
    project = authorize_project(request, request.path_params["slug"], "symbols:write")
    runtime = runtime_of(request)
    limit = runtime.settings.max_debug_file_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit + 64 * 1024:
        raise HTTPException(413, f"upload is larger than the limit of {limit} bytes (setting SHINDAN_MAX_DEBUG_FILE_BYTES)")

    workspace = runtime.symbol_store.new_workspace()
    try:
        form = await _read_upload_form(request, workspace, limit)
        if form.file is None:
            raise HTTPException(400, "missing multipart field 'file'")
        aliases = [value for name, value in form.fields if name == "uuid" and value.strip()]
        try:
            for alias in aliases:
                normalize_uuid(alias)
            result: InspectionResult = await run_in_threadpool(inspect_staged_upload, form.file, form.filename)
            found = require_found(result, form.filename)
            described = await run_in_threadpool(store_debug_files, request, project.id or 0, found, aliases)
        except DebugFileError as error:
            logger.info("project=%s upload %r rejected: %s", project.slug, display_name(form.filename), error)
            raise HTTPException(400, str(error)) from None
    finally:
        await run_in_threadpool(workspace.close)
    logger.info(
        "project=%s upload %r: %d debug file(s), %d new, %d skipped",
        project.slug,
        display_name(form.filename),
        len(described),
        sum(1 for item in described if item["created"]),
        len(result.skipped),
    )
    return JSONResponse({"files": described, "skipped": result.skipped})


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
    requested_ids = {item.lower() for item in debug_ids}
    offered = _offered_features(body.get("features"))

    def known() -> dict[str, int]:
        """Return the best rank of the files stored per debug id."""
        best: dict[str, int] = {}
        with runtime_of(request).engine.connect() as connection:
            rows = connection.execute(
                select(DebugFile.debug_id, DebugFile.features).where(DebugFile.project_id == project.id, DebugFile.debug_id.in_(requested_ids))  # type: ignore[attr-defined]
            )
            for row in rows:
                best[row.debug_id] = max(best.get(row.debug_id, -1), feature_rank(row.features.split()))
        return best

    present = await run_in_threadpool(known)
    # An id counts as missing when nothing is stored for it, or when the client
    # offers a better file than the best one stored: an unstripped library after
    # its stripped copy.
    missing = {debug_id for debug_id in requested_ids if debug_id not in present or feature_rank(offered.get(debug_id, [])) > present[debug_id]}
    return JSONResponse({"missing": sorted(missing)})


def _offered_features(value: object) -> dict[str, list[str]]:
    """Read the optional ``features`` object: debug id -> the features of the client's file."""
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(item, list) and all(isinstance(name, str) for name in item) for item in value.values()):
        raise HTTPException(400, "'features' must map debug ids to lists of feature names, such as [\"debug\", \"symtab\"]")
    return {str(debug_id).lower(): list(names) for debug_id, names in value.items()}


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
