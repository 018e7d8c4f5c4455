"""The parts of Sentry's API that ``sentry-cli debug-files upload`` and ``upload-proguard`` call.

Checked against sentry-cli 3.8.2. It first sends ``GET /api/0/organizations/{org}/chunk-upload/``
for the upload options. Then it sends ``POST /api/0/projects/{org}/{project}/files/difs/assemble/``
to learn the missing chunks, posts those chunks to the URL from the options, and calls the
assemble endpoint again. ``upload-proguard`` polls it until every file is ``ok`` or ``error``.
Both commands use the same endpoints, and a mapping is named ``/proguard/<uuid>.txt``.

One installation is one organization, so any ``{org}`` is accepted. ``{project}`` is a
project slug or a numeric project id. Every endpoint needs a bearer token with the
``symbols:write`` scope.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import Message

from service.accounts import TokenGrant
from service.api.auth import grant_of, runtime_of
from service.api.debug_files import store_debug_files
from service.clock import utc_now
from service.db.models import Project
from service.symbols.chunks import SHA1_HEX, AssemblyRequest, ChunkAssembler, ChunkStore, describe_dif
from symbolication.debug_files import DebugFileError, inspect_debug_file

logger = logging.getLogger("shindan.symbols")

SCOPE = "symbols:write"
CHUNKS_PER_REQUEST = 64
# Number of requests sentry-cli sends at once.
UPLOAD_CONCURRENCY = 4
# Capabilities sentry-cli 2.x checks before it uses chunk uploads for a kind of file.
# sentry-cli 3.8.2 sends BCSymbolMaps and dSYM UUID plists whatever this lists.
ACCEPTED_UPLOADS = ["debug_files", "bcsymbolmaps", "proguard"]
# Multipart boundaries and part headers on top of the chunk bytes. sentry-cli 3.8.2 sends about 200 bytes a part.
MULTIPART_OVERHEAD_PER_PART = 1024
MAX_ASSEMBLE_BODY_BYTES = 8 * 1024 * 1024
MAX_ASSEMBLE_FILES = 1000
STALE_SWEEP_SECONDS = 3600.0

_assembler_lock = threading.Lock()


def _require_upload_grant(request: Request) -> TokenGrant:
    """Check for a token with ``symbols:write`` for any project, because chunks belong to no project until assembled."""
    grant = grant_of(request)
    if grant is None:
        raise HTTPException(401, "missing or invalid credentials: send 'Authorization: Bearer <token>'")
    if SCOPE not in grant.scopes and "admin" not in grant.scopes:
        raise HTTPException(403, f"this token lacks the {SCOPE!r} scope")
    return grant


def _authorize_project(request: Request, reference: str) -> Project:
    """Check credentials, then find the project by slug or id, then check the scope for it."""
    grant = grant_of(request)
    if grant is None:
        raise HTTPException(401, "missing or invalid credentials: send 'Authorization: Bearer <token>'")
    with Session(runtime_of(request).engine) as session:
        project = session.exec(select(Project).where(Project.slug == reference)).first()
        if project is None and reference.isdigit():
            project = session.get(Project, int(reference))
    if project is None:
        raise HTTPException(404, f"project {reference!r} not found")
    if not grant.allows(SCOPE, project.id):
        raise HTTPException(403, f"this token lacks the {SCOPE!r} scope for project {project.slug!r}")
    return project


def _assembler(request: Request) -> ChunkAssembler:
    """Return this process's assembler, created on first use."""
    state = request.app.state
    with _assembler_lock:
        assembler: ChunkAssembler | None = getattr(state, "chunk_assembler", None)
        if assembler is None:
            runtime = runtime_of(request)
            settings = runtime.settings
            assembler = ChunkAssembler(
                runtime.engine,
                ChunkStore(settings.data_dir / "chunks"),
                runtime.symbol_store,
                runtime.debug_files,
                max_file_bytes=settings.max_debug_file_bytes,
                sync_bytes=settings.chunk_assemble_sync_bytes,
            )
            state.chunk_assembler = assembler
            state.chunk_sweep_at = 0.0
        return assembler


async def chunk_upload_options(request: Request) -> JSONResponse:
    _require_upload_grant(request)
    settings = runtime_of(request).settings
    return JSONResponse(
        {
            # A relative URL makes sentry-cli send chunks to the address it already uses
            # (checked with sentry-cli 3.8.2), whatever proxy or port sits in between.
            "url": f"/api/0/organizations/{request.path_params['org']}/chunk-upload/",
            "chunkSize": settings.chunk_upload_chunk_bytes,
            "chunksPerRequest": CHUNKS_PER_REQUEST,
            "maxFileSize": settings.max_debug_file_bytes,
            "maxRequestSize": settings.chunk_upload_request_bytes,
            "concurrency": UPLOAD_CONCURRENCY,
            "hashAlgorithm": "sha1",
            "compression": ["gzip"],
            "accept": ACCEPTED_UPLOADS,
        }
    )


def _bounded_receive(receive: Callable[[], Awaitable[Message]], limit: int, message: str) -> Callable[[], Awaitable[Message]]:
    """Wrap an ASGI receive so that a body longer than ``limit`` bytes raises 413 while it streams in."""
    received = 0

    async def bounded() -> Message:
        nonlocal received
        item = await receive()
        if item["type"] == "http.request":
            received += len(item.get("body", b""))
            if received > limit:
                raise HTTPException(413, message)
        return item

    return bounded


async def upload_chunks(request: Request) -> JSONResponse:
    """Store the chunks of a multipart request: parts ``file`` (raw) or ``file_gzip``, each named by its SHA-1."""
    _require_upload_grant(request)
    settings = runtime_of(request).settings
    body_limit = settings.chunk_upload_request_bytes + CHUNKS_PER_REQUEST * MULTIPART_OVERHEAD_PER_PART
    too_large = (
        f"chunk upload request is larger than the limit of {settings.chunk_upload_request_bytes} bytes of chunks "
        "(setting SHINDAN_CHUNK_UPLOAD_REQUEST_BYTES)"
    )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > body_limit:
        raise HTTPException(413, too_large)

    bounded = Request(request.scope, _bounded_receive(request.receive, body_limit, too_large))
    async with bounded.form(max_files=CHUNKS_PER_REQUEST * 4, max_fields=CHUNKS_PER_REQUEST) as form:
        parts: list[tuple[str, str, bytes]] = []
        for field_name, value in form.multi_items():
            if field_name not in ("file", "file_gzip") or not isinstance(value, UploadFile):
                continue
            if len(parts) == CHUNKS_PER_REQUEST:
                raise HTTPException(413, f"more than {CHUNKS_PER_REQUEST} chunks in one request (chunksPerRequest)")
            parts.append((field_name, (value.filename or "").lower(), await value.read()))

    chunks = await run_in_threadpool(_verify_chunks, parts, settings.chunk_upload_chunk_bytes, settings.chunk_upload_request_bytes)
    assembler = _assembler(request)
    for checksum, data in chunks:
        await run_in_threadpool(assembler.store.put, checksum, data)
    await _sweep_stale_chunks(request, assembler)
    return JSONResponse({"chunks": [checksum for checksum, _ in chunks]})


def _verify_chunks(parts: list[tuple[str, str, bytes]], chunk_limit: int, request_limit: int) -> list[tuple[str, bytes]]:
    """Decompress and check every part before any is stored, so a rejected request stores nothing."""
    chunks: list[tuple[str, bytes]] = []
    total = 0
    for field_name, checksum, raw in parts:
        if not SHA1_HEX.fullmatch(checksum):
            raise HTTPException(400, f"chunk part {checksum[:80]!r} is not named by the SHA-1 of its content (40 hex digits)")
        data = _gunzip_chunk(checksum, raw, chunk_limit) if field_name == "file_gzip" else raw
        if len(data) > chunk_limit:
            raise HTTPException(413, f"chunk {checksum} is larger than the limit of {chunk_limit} bytes (setting SHINDAN_CHUNK_UPLOAD_CHUNK_BYTES)")
        actual = hashlib.sha1(data, usedforsecurity=False).hexdigest()
        if actual != checksum:
            raise HTTPException(400, f"chunk {checksum} does not match its content, whose SHA-1 is {actual}")
        total += len(data)
        if total > request_limit:
            raise HTTPException(
                413,
                f"chunk upload request is larger than the limit of {request_limit} bytes of chunks (setting SHINDAN_CHUNK_UPLOAD_REQUEST_BYTES)",
            )
        chunks.append((checksum, data))
    return chunks


def _gunzip_chunk(checksum: str, raw: bytes, chunk_limit: int) -> bytes:
    """Decompress one gzip chunk, stopping one byte past the limit so a gzip bomb costs nothing."""
    decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        data = decompressor.decompress(raw, chunk_limit + 1)
    except zlib.error as error:
        raise HTTPException(400, f"chunk {checksum} is not valid gzip data: {error}") from None
    if len(data) > chunk_limit:
        return data  # the caller rejects it with the size limit
    if not decompressor.eof:
        raise HTTPException(400, f"chunk {checksum} is truncated gzip data")
    return data


async def _sweep_stale_chunks(request: Request, assembler: ChunkAssembler) -> None:
    """Delete abandoned chunks, at most once per ``STALE_SWEEP_SECONDS`` in each process."""
    state = request.app.state
    now = time.monotonic()
    if now < state.chunk_sweep_at:
        return
    state.chunk_sweep_at = now + STALE_SWEEP_SECONDS
    removed = await run_in_threadpool(assembler.store.remove_stale, utc_now())
    if removed:
        logger.info("deleted %d abandoned upload chunk(s)", removed)


async def assemble_difs(request: Request) -> JSONResponse:
    """Return ``{checksum: {state, missingChunks, detail, dif}}`` for each file of the request, starting assemblies."""
    project = _authorize_project(request, request.path_params["project"])
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_ASSEMBLE_BODY_BYTES:
        raise HTTPException(413, f"assemble request is larger than the limit of {MAX_ASSEMBLE_BODY_BYTES} bytes")
    body = await request.body()
    if len(body) > MAX_ASSEMBLE_BODY_BYTES:
        raise HTTPException(413, f"assemble request is larger than the limit of {MAX_ASSEMBLE_BODY_BYTES} bytes")
    files = parse_assemble_request(body)
    assembler = _assembler(request)
    project_id = project.id or 0

    def answer_all() -> dict[str, Any]:
        now = utc_now()
        return {item.checksum: assembler.answer(project_id, item, now).to_json() for item in files}

    return JSONResponse(await run_in_threadpool(answer_all))


def parse_assemble_request(body: bytes) -> list[AssemblyRequest]:
    """Validate the assemble body: ``{sha1: {"name": str, "chunks": [sha1, ...], "debug_id"?: str}}``."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise HTTPException(400, "assemble request body is not valid JSON") from None
    if not isinstance(document, dict):
        raise HTTPException(400, "assemble request body must be a JSON object keyed by file SHA-1")
    if len(document) > MAX_ASSEMBLE_FILES:
        raise HTTPException(413, f"assemble request names {len(document)} files, more than the limit of {MAX_ASSEMBLE_FILES}")
    files = []
    for checksum, entry in document.items():
        if not SHA1_HEX.fullmatch(checksum):
            raise HTTPException(400, f"assemble request key {checksum[:80]!r} is not a SHA-1 in lowercase hex")
        if not isinstance(entry, dict):
            raise HTTPException(400, f"assemble request entry {checksum} must be an object")
        name = entry.get("name")
        chunks = entry.get("chunks", [])
        debug_id = entry.get("debug_id")
        if not isinstance(name, str):
            raise HTTPException(400, f"assemble request entry {checksum} needs a 'name' string")
        if not isinstance(chunks, list) or not all(isinstance(chunk, str) and SHA1_HEX.fullmatch(chunk) for chunk in chunks):
            raise HTTPException(400, f"'chunks' of assemble request entry {checksum} must be a list of lowercase hex SHA-1s")
        if debug_id is not None and not isinstance(debug_id, str):
            raise HTTPException(400, f"'debug_id' of assemble request entry {checksum} must be a string")
        files.append(AssemblyRequest(checksum=checksum, name=name, chunks=chunks, debug_id=debug_id))
    return files


async def upload_dsyms_legacy(request: Request) -> JSONResponse:
    """Accept one multipart ``file`` as Sentry's legacy ``files/dsyms/`` endpoint did, for sentry-cli before chunk uploads.

    NOTE: sentry-cli 3.8.2 never calls this, and the missing-checksums query that old
    clients send first (``files/dsyms/unknown/``) is not served.
    """
    project = _authorize_project(request, request.path_params["project"])
    limit = runtime_of(request).settings.max_debug_file_bytes
    too_large = f"upload is larger than the limit of {limit} bytes (setting SHINDAN_MAX_DEBUG_FILE_BYTES)"
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, too_large)
    async with request.form(max_files=1, max_fields=10) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise HTTPException(400, "missing multipart field 'file'")
        data = await upload.read()
        filename = upload.filename or "upload"
    if len(data) > limit:
        raise HTTPException(413, too_large)
    try:
        found = await run_in_threadpool(inspect_debug_file, data, filename, None)
    except DebugFileError as error:
        raise HTTPException(400, str(error)) from None
    described = await run_in_threadpool(store_debug_files, request, project.id or 0, found)
    sha1 = hashlib.sha1(data, usedforsecurity=False).hexdigest()
    now = utc_now()
    return JSONResponse([describe_dif(item, sha1, now) for item in described], status_code=201)


routes = [
    Route("/api/0/organizations/{org}/chunk-upload/", chunk_upload_options, methods=["GET"]),
    Route("/api/0/organizations/{org}/chunk-upload/", upload_chunks, methods=["POST"]),
    Route("/api/0/projects/{org}/{project}/files/difs/assemble/", assemble_difs, methods=["POST"]),
    Route("/api/0/projects/{org}/{project}/files/dsyms/", upload_dsyms_legacy, methods=["POST"]),
]
