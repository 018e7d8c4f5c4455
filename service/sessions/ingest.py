"""``POST /api/v1/projects/{slug}/sessions``: a ``shindan.v1.SessionBatch`` as protobuf or JSON.

The body is parsed before the response, so a sender learns at once which
field is wrong. A body that fails is kept in quarantine. An accepted body is
stored as sent and counted by the ``process-sessions`` job.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from service.clock import utc_now
from service.ingest.decode import decompress
from service.ingest.errors import IngestRejected, invalid_payload, too_large
from service.ingest.native import authenticate_project
from service.ingest.routes import check_capacity, commit, quarantine, read_body, rejection_response
from service.ingest.writer import PendingPayload
from service.metrics import COUNTERS
from service.processing.jobs import PROCESS_SESSIONS
from service.sessions import native
from service.sessions.model import InvalidSessionPayload

if TYPE_CHECKING:
    from service.runtime import Runtime

logger = logging.getLogger("shindan.ingest")


async def sessions_endpoint(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    settings = runtime.settings
    slug = request.path_params["slug"]
    try:
        project_id = await authenticate_project(request, slug)
        body = await read_body(request, settings.max_compressed_bytes)
        decoded = decompress(body, request.headers.get("content-encoding", ""), settings.max_decompressed_bytes)
        # A session batch is held to the size of one event: thousands of updates fit.
        if len(decoded) > settings.max_event_bytes:
            raise too_large("session batch (after decompression)", "max_event_bytes", settings.max_event_bytes)
        body_format = native.payload_format(request.headers.get("content-type", ""), decoded)
        try:
            updates = await run_in_threadpool(native.parse_session_batch, decoded, body_format)
        except InvalidSessionPayload as error:
            await quarantine(runtime, project_id, request, decoded, str(error))
            raise invalid_payload(error.detail) from None
        check_capacity(runtime)
        await commit(runtime, [PendingPayload(project_id, body_format, "", decoded, utc_now(), PROCESS_SESSIONS)])
    except IngestRejected as error:
        return rejection_response(error, slug)
    COUNTERS.inc("shindan_ingest_accepted_total", item_type="session_batch")
    logger.info("project=%d session batch accepted format=%s updates=%d", project_id, body_format, len(updates))
    return JSONResponse({"accepted": len(updates)})


routes = [Route("/api/v1/projects/{slug}/sessions", sessions_endpoint, methods=["POST"])]
