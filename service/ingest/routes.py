"""SDK-facing endpoints of the Sentry protocol: ``/api/{project_id}/envelope/`` and ``/store/``."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import re
import time
import uuid
import zlib
from datetime import datetime
from typing import TYPE_CHECKING

import orjson

from sqlalchemy import insert
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from service.clock import utc_now
from service.formats.sentry_attachments import SENTRY_EVENT_WITH_APPLE_CRASH
from service.db.models import Quarantine
from service.ingest.auth import key_from_auth_header, key_from_dsn
from service.ingest.decode import decompress
from service.ingest.envelope import Envelope, parse_envelope, parse_envelope_header
from service.ingest.errors import IngestRejected, invalid_payload, too_large, unauthorized
from service.ingest.writer import PendingPayload, WriteFailed
from service.processing.jobs import PROCESS_SESSIONS
from service.metrics import COUNTERS

if TYPE_CHECKING:
    from service.config import Settings
    from service.runtime import Runtime

logger = logging.getLogger("shindan.ingest")

_RETRY_AFTER_OVERLOADED = 60
# Checks the first non-blank byte without copying the body, as lstrip() would.
_JSON_OBJECT_START = re.compile(rb"\s*\{")


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large("request body as sent (before decompression)", "max_compressed_bytes", limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large("request body as sent (before decompression)", "max_compressed_bytes", limit)
        chunks.append(chunk)
    return b"".join(chunks)


def request_key(request: Request) -> str | None:
    for header in ("x-sentry-auth", "authorization"):
        value = request.headers.get(header)
        if value:
            key = key_from_auth_header(value)
            if key:
                return key
    return request.query_params.get("sentry_key") or None


def check_key(runtime: Runtime, public_key: str | None, project_id: int) -> None:
    """Raise 401 unless the key is active and belongs to ``project_id``; apply the key's quota."""
    if not public_key:
        raise unauthorized()
    info = runtime.key_cache.lookup(public_key)
    if info is None or not info.active or info.project_id != project_id:
        raise unauthorized()
    wait = runtime.quota.take(public_key, info.rate_limit_per_minute, time.time())
    if wait:
        raise IngestRejected(
            429,
            "quota",
            f"project quota of {info.rate_limit_per_minute} requests per minute reached",
            {"Retry-After": str(wait), "X-Sentry-Rate-Limits": f"{wait}::key:quota"},
        )


def check_capacity(runtime: Runtime) -> None:
    limit = runtime.settings.ingest_queue_limit
    if runtime.writer.queued_jobs > limit:
        raise IngestRejected(
            429,
            "overloaded",
            f"server is overloaded: more than {limit} payloads wait for processing (setting SHINDAN_INGEST_QUEUE_LIMIT)",
            {"Retry-After": str(_RETRY_AFTER_OVERLOADED), "X-Sentry-Rate-Limits": f"{_RETRY_AFTER_OVERLOADED}::organization:overloaded"},
        )


def rejection_response(error: IngestRejected, project_id: object) -> JSONResponse:
    COUNTERS.inc("shindan_ingest_rejected_total", reason=error.reason.split(":")[0])
    logger.info("project=%s rejected status=%d reason=%s", project_id, error.status, error.reason)
    return JSONResponse({"detail": error.detail}, status_code=error.status, headers=error.headers)


async def quarantine(runtime: Runtime, project_id: int, request: Request, body: bytes, reason: str) -> None:
    """Keep an authenticated body that could not be parsed."""

    def write() -> None:
        with runtime.engine.begin() as connection:
            connection.execute(
                insert(Quarantine).values(
                    project_id=project_id,
                    received_at=utc_now(),
                    reason=reason[:500],
                    content_type=request.headers.get("content-type", "")[:200],
                    content_encoding=request.headers.get("content-encoding", "")[:50],
                    body=body,
                )
            )

    await run_in_threadpool(write)
    logger.warning("project=%d payload quarantined: %s", project_id, reason)


def _parse_project_id(request: Request) -> int:
    raw = request.path_params["project_id"]
    if not raw.isdigit():
        raise IngestRejected(404, "project", f"invalid project id {raw!r} in the URL: expected a number")
    return int(raw)


async def envelope_endpoint(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    settings = runtime.settings
    project_id: object = request.path_params["project_id"]
    try:
        project_id = _parse_project_id(request)
        body = await read_body(request, settings.max_compressed_bytes)
        encoding = request.headers.get("content-encoding", "")
        decoded: bytes | None = None
        public_key = request_key(request)
        if public_key is None:
            decoded = decompress(body, encoding, settings.max_decompressed_bytes)
            public_key = key_from_dsn(parse_envelope_header(decoded).get("dsn"))
        check_key(runtime, public_key, project_id)
        check_capacity(runtime)
        if decoded is None:
            decoded = decompress(body, encoding, settings.max_decompressed_bytes)
        try:
            envelope = parse_envelope(decoded)
        except IngestRejected as error:
            await quarantine(runtime, project_id, request, decoded, error.detail)
            raise
        event_id, payloads = collect_event_items(envelope, project_id, settings)
        await commit(runtime, payloads)
    except IngestRejected as error:
        return rejection_response(error, project_id)
    return JSONResponse({"id": event_id})


def collect_event_items(envelope: Envelope, project_id: int, settings: Settings) -> tuple[str, list[PendingPayload]]:
    """Pick the items this version processes; count the rest and skip them."""
    event_id = _normalize_event_id(envelope.headers.get("event_id"))
    payloads: list[PendingPayload] = []
    events: list[PendingPayload] = []
    crash_reports: list[bytes] = []
    received_at = utc_now()
    for index, item in enumerate(envelope.items):
        item_type = item.type or "unknown"
        COUNTERS.inc("shindan_ingest_accepted_total", item_type=item_type if item_type in _KNOWN_ITEM_TYPES else "other")
        if item_type in SESSION_ITEM_FORMATS:
            payloads.append(PendingPayload(project_id, SESSION_ITEM_FORMATS[item_type], "", item.payload, received_at, PROCESS_SESSIONS))
        elif item_type == "attachment" and item.headers.get("attachment_type") == APPLE_CRASH_REPORT_ATTACHMENT:
            if len(item.payload) > settings.max_report_bytes:
                raise too_large(f"Apple crash report attachment (item {index})", "max_report_bytes", settings.max_report_bytes)
            crash_reports.append(item.payload)
        elif item_type == "event":
            if len(item.payload) > settings.max_event_bytes:
                raise too_large(f"event item {index}", "max_event_bytes", settings.max_event_bytes)
            if not _JSON_OBJECT_START.match(item.payload):
                raise invalid_payload(f"event item {index} is not a JSON object")
            item_event_id = event_id if not events and event_id else _event_id_from_payload(item.payload)
            if not event_id:
                event_id = item_event_id
            events.append(PendingPayload(project_id, "sentry-event", item_event_id, item.payload, received_at))
    event_id = event_id or uuid.uuid4().hex
    if crash_reports:
        events = _attach_crash_report(events, crash_reports[0], project_id, event_id, received_at)
    return event_id, events + payloads


# Sentry's attachment type for an Apple crash report in text form that
# replaces the event's threads and images.
APPLE_CRASH_REPORT_ATTACHMENT = "event.applecrashreport"


def _attach_crash_report(events: list[PendingPayload], report: bytes, project_id: int, event_id: str, received_at: datetime) -> list[PendingPayload]:
    """Combine the envelope's event with its Apple crash report, or wrap the report alone under the envelope's event id.

    The combined payload keeps the event JSON unparsed. The converter takes
    threads, images and the exception from the report and the rest (user,
    tags, release, breadcrumbs) from the event.
    """
    text = report.decode("utf-8", "replace")
    for position, event in enumerate(events):
        if event.event_id == event_id:
            body = orjson.dumps({"event": orjson.Fragment(event.body), "apple_crash_report": text})
            combined = PendingPayload(project_id, SENTRY_EVENT_WITH_APPLE_CRASH, event_id, body, received_at)
            return events[:position] + [combined] + events[position + 1 :]
    # Without an event item the envelope's id still names the event, as the SDK expects.
    body = orjson.dumps({"event": {"event_id": event_id}, "apple_crash_report": text})
    return [*events, PendingPayload(project_id, SENTRY_EVENT_WITH_APPLE_CRASH, event_id, body, received_at)]


# Session updates and aggregates are stored as they came and counted by the
# "process-sessions" job handler.
SESSION_ITEM_FORMATS = {"session": "sentry-session", "sessions": "sentry-sessions"}

_KNOWN_ITEM_TYPES = frozenset(
    {"event", "transaction", "attachment", "session", "sessions", "client_report", "user_report", "profile", "replay_event", "replay_recording", "check_in", "statsd", "span", "log", "feedback"}
)


def _normalize_event_id(value: object) -> str:
    if not isinstance(value, str):
        return ""
    try:
        return uuid.UUID(value).hex
    except ValueError:
        return ""


def _event_id_from_payload(payload: bytes) -> str:
    try:
        value = json.loads(payload).get("event_id")
    except (ValueError, AttributeError):
        value = None
    return _normalize_event_id(value) or uuid.uuid4().hex


async def commit(runtime: Runtime, payloads: list[PendingPayload]) -> None:
    if not payloads:
        return
    try:
        await asyncio.wrap_future(runtime.writer.submit(payloads))
    except WriteFailed:
        raise IngestRejected(
            503, "storage", "the payload could not be stored; retry later", {"Retry-After": "10"}
        ) from None


def _decode_store_body(decoded: bytes) -> bytes:
    """Return the event JSON of a store body, which legacy SDKs send as base64 of zlib-compressed JSON."""
    if _JSON_OBJECT_START.match(decoded):
        return decoded
    try:
        return zlib.decompress(base64.b64decode(decoded, validate=False))
    except (binascii.Error, zlib.error, ValueError):
        raise invalid_payload("store body is neither JSON nor base64-encoded zlib JSON") from None


async def store_endpoint(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    settings = runtime.settings
    project_id: object = request.path_params["project_id"]
    try:
        project_id = _parse_project_id(request)
        body = await read_body(request, settings.max_compressed_bytes)
        check_key(runtime, request_key(request), project_id)
        check_capacity(runtime)
        decoded = decompress(body, request.headers.get("content-encoding", ""), settings.max_decompressed_bytes)
        try:
            event_body = _decode_store_body(decoded)
            if len(event_body) > settings.max_event_bytes:
                raise too_large("event", "max_event_bytes", settings.max_event_bytes)
            event = json.loads(event_body)
            if not isinstance(event, dict):
                raise invalid_payload("event must be a JSON object")
        except ValueError:
            error = invalid_payload("event is not valid JSON")
            await quarantine(runtime, project_id, request, decoded, error.detail)
            raise error from None
        except IngestRejected as error:
            if error.status == 400:
                await quarantine(runtime, project_id, request, decoded, error.detail)
            raise
        event_id = _normalize_event_id(event.get("event_id")) or uuid.uuid4().hex
        COUNTERS.inc("shindan_ingest_accepted_total", item_type="event")
        await commit(runtime, [PendingPayload(project_id, "sentry-event", event_id, event_body, utc_now())])
    except IngestRejected as error:
        return rejection_response(error, project_id)
    return JSONResponse({"id": event_id})


# Sentry SDKs use the trailing slash; the bare form is accepted too, because a
# redirect would make a client send the body twice.
routes = [
    Route("/api/{project_id}/envelope/", envelope_endpoint, methods=["POST"]),
    Route("/api/{project_id}/envelope", envelope_endpoint, methods=["POST"]),
    Route("/api/{project_id}/store/", store_endpoint, methods=["POST"]),
    Route("/api/{project_id}/store", store_endpoint, methods=["POST"]),
]
