"""``POST /api/v1/projects/{slug}/reports``: any supported crash file, format detected or chosen.

Unlike the Sentry endpoints, this one parses the body before it responds,
because the sender is a developer or our own SDK, and a clear 400 naming
what is wrong in an ``.ips`` file is worth the extra parse. The worker parses the
stored body again, with the same result, so the event ids returned here are
the ones the events get.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import col, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from service.clock import utc_now
from service.db.models import Event
from service.formats import registry
from service.formats.errors import InvalidPayload, UnsupportedReport
from service.formats.prepared import PREPARED_REPORT
from service.ingest.decode import decompress
from service.ingest.errors import IngestRejected, invalid_payload, too_large
from service.ingest.native import authenticate_project
from service.ingest.routes import check_capacity, commit, quarantine, read_body, rejection_response
from service.ingest.writer import PendingPayload
from service.metrics import COUNTERS
from service.processing.pipeline import parse_payload
from service.schema import crash_report_pb2 as pb

if TYPE_CHECKING:
    from service.runtime import Runtime

logger = logging.getLogger("shindan.ingest")

_GZIP_MAGIC = b"\x1f\x8b"


@dataclass
class AcceptedReport:
    event_id: str
    format: str
    reports: list[pb.CrashReport]
    # Event ids of the project that were already stored before this request.
    already_stored: set[str] = field(default_factory=set)

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.event_id,
            "format": self.format,
            "reports": [{**summarize(report), "already_stored": report.event_id in self.already_stored} for report in self.reports],
        }


def summarize(report: pb.CrashReport) -> dict[str, object]:
    """Describe a parsed report in a few fields, so the sender can check what was read."""
    exception = report.exceptions[0] if report.exceptions else None
    crashed = next((thread for thread in report.threads if thread.crashed), None)
    return {
        "event_id": report.event_id,
        "source_format": report.source_format,
        "exception": {"type": exception.type, "value": exception.value} if exception else None,
        "crashed_thread": crashed.id if crashed else None,
        "threads": len(report.threads),
        "images": len(report.images),
        "release": report.app.release,
        "device_model": report.device.model,
        "os": " ".join(part for part in (report.os.name, report.os.version) if part),
    }


def content_event_id(body: bytes, proguard_uuids: list[str] | None = None) -> str:
    """Derive an event id from the file's bytes, so a file sent twice is stored once.

    Mapping ids the sender adds count as content: the same ANR trace sent
    again with its mapping is a new, deobfuscated event.
    """
    digest = hashlib.sha256(body)
    for mapping_uuid in proguard_uuids or []:
        digest.update(b"\0proguard:" + mapping_uuid.encode())
    return uuid.UUID(bytes=digest.digest()[:16], version=4).hex


def unwrap_gzip(body: bytes, limit: int) -> bytes:
    """Open a gzip file (``tombstone.pb.gz``) sent without ``Content-Encoding``."""
    if not body.startswith(_GZIP_MAGIC):
        return body
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = decompressor.decompress(body, limit + 1)
    except zlib.error as error:
        raise invalid_payload(f"the body starts like gzip but cannot be decompressed: {error}") from None
    if len(data) > limit:
        raise too_large("crash report after gzip decompression", "max_report_bytes", limit)
    return data


def parse_report_file(body: bytes, requested_format: str | None, received_at: datetime, event_id: str) -> AcceptedReport:
    """Detect or check the format and convert; raise InvalidPayload with a message for the sender."""
    format_name = requested_format or registry.detect_format(body)
    reports = parse_payload(format_name, body, received_at, event_id)
    return AcceptedReport(reports[0].event_id, format_name, reports)


def parse_proguard_uuids(values: list[str]) -> list[str]:
    """Check ``proguard_uuid`` values; return them in the lowercase dashed form debug ids use."""
    parsed = []
    for value in values:
        try:
            parsed.append(str(uuid.UUID(value)))
        except ValueError:
            raise invalid_payload(f"proguard_uuid {value[:64]!r} is not a UUID") from None
    return parsed


def add_mappings(accepted: AcceptedReport, proguard_uuids: list[str]) -> None:
    """Name ProGuard mappings for reports whose file carries no mapping id, such as ANR traces."""
    for report in accepted.reports:
        present = {image.debug_id for image in report.images if image.type == pb.IMAGE_TYPE_PROGUARD}
        for mapping_uuid in proguard_uuids:
            if mapping_uuid not in present:
                report.images.add(type=pb.IMAGE_TYPE_PROGUARD, debug_id=mapping_uuid)


def pending_payloads(project_id: int, body: bytes, accepted: AcceptedReport, received_at: datetime, prepared: bool) -> list[PendingPayload]:
    """Store the file as sent, or each converted report when the sender added facts to them."""
    if not prepared:
        return [PendingPayload(project_id, accepted.format, content_event_id(body), body, received_at)]
    return [PendingPayload(project_id, PREPARED_REPORT, report.event_id, report.SerializeToString(), received_at) for report in accepted.reports]


def stored_event_ids(runtime: Runtime, project_id: int, event_ids: list[str]) -> set[str]:
    """Return which of ``event_ids`` the project already has, so the sender learns a file was a repeat."""
    with runtime.engine.connect() as connection:
        rows = connection.execute(select(Event.event_id).where(Event.project_id == project_id, col(Event.event_id).in_(event_ids)))
        return {row.event_id for row in rows}


def _rejection_reason(error: InvalidPayload) -> str:
    """Return the reason token of a parse failure, so the web form can word the common cases itself."""
    if isinstance(error, UnsupportedReport):
        return "unsupported"
    if isinstance(error, registry.UnknownFormat):
        return "unknown_format"
    return "invalid"


async def accept_report(
    runtime: Runtime, request: Request, project_id: int, body: bytes, requested_format: str | None, proguard_uuids: list[str] | None = None
) -> AcceptedReport:
    """Validate a crash file and store it durably; quarantine it when it cannot be parsed."""
    settings = runtime.settings
    if len(body) > settings.max_report_bytes:
        raise too_large("crash report", "max_report_bytes", settings.max_report_bytes)
    body = unwrap_gzip(body, settings.max_report_bytes)
    if requested_format is not None and requested_format not in registry.names():
        raise invalid_payload(f"unknown format {requested_format!r}; supported: {', '.join(registry.names())}")
    received_at = utc_now()
    try:
        accepted = await run_in_threadpool(parse_report_file, body, requested_format, received_at, content_event_id(body, proguard_uuids))
    except InvalidPayload as error:
        reason = _rejection_reason(error)
        await quarantine(runtime, project_id, request, body, error.message)
        raise IngestRejected(400, reason, error.message) from None
    if proguard_uuids:
        add_mappings(accepted, proguard_uuids)
    accepted.already_stored = await run_in_threadpool(stored_event_ids, runtime, project_id, [report.event_id for report in accepted.reports])
    check_capacity(runtime)
    await commit(runtime, pending_payloads(project_id, body, accepted, received_at, prepared=bool(proguard_uuids)))
    COUNTERS.inc("shindan_ingest_accepted_total", item_type="report")
    logger.info("project=%d report accepted format=%s reports=%d", project_id, accepted.format, len(accepted.reports))
    return accepted


async def reports_endpoint(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    settings = runtime.settings
    slug = request.path_params["slug"]
    try:
        project_id = await authenticate_project(request, slug)
        body = await read_body(request, settings.max_compressed_bytes)
        decoded = decompress(body, request.headers.get("content-encoding", ""), settings.max_decompressed_bytes)
        if not decoded.strip():
            raise invalid_payload("the request body is empty: send the crash report file as the body")
        proguard_uuids = parse_proguard_uuids(request.query_params.getlist("proguard_uuid"))
        accepted = await accept_report(runtime, request, project_id, decoded, request.query_params.get("format") or None, proguard_uuids)
    except IngestRejected as error:
        return rejection_response(error, slug)
    return JSONResponse(accepted.as_json())


routes = [Route("/api/v1/projects/{slug}/reports", reports_endpoint, methods=["POST"])]
