"""Parse ``shindan.v1.SessionBatch`` bodies (``service/schema/sessions.proto``), as protobuf or JSON."""

from __future__ import annotations

import math
import re
from datetime import UTC

import orjson
from google.protobuf import json_format
from google.protobuf.message import DecodeError

from service.schema import sessions_pb2 as pb
from service.sessions.model import InvalidSessionPayload, SessionAttributes, SessionUpdate

PROTOBUF_FORMAT = "shindan-sessions"
JSON_FORMAT = "shindan-sessions-json"
PAYLOAD_FORMATS = (PROTOBUF_FORMAT, JSON_FORMAT)

_PROTOBUF_CONTENT_TYPES = ("application/x-protobuf", "application/protobuf", "application/vnd.google.protobuf", "application/octet-stream")
_STATUS_NAMES = {
    pb.SESSION_STATUS_UNSPECIFIED: "ok",
    pb.SESSION_STATUS_OK: "ok",
    pb.SESSION_STATUS_EXITED: "exited",
    pb.SESSION_STATUS_CRASHED: "crashed",
    pb.SESSION_STATUS_ABNORMAL: "abnormal",
    pb.SESSION_STATUS_ERRORED: "errored",
}
# json_format names the failing field as "at SessionBatch.sessions[0].status".
_JSON_ERROR_PATH = re.compile(r" at \"?SessionBatch\.?([\w\[\].]*)")
_JSON_OBJECT_START = re.compile(rb"\s*\{")


def payload_format(content_type: str, body: bytes) -> str:
    """Pick protobuf or JSON from the Content-Type, or from the first byte when it names neither."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/json" or media_type.endswith("+json"):
        return JSON_FORMAT
    if media_type in _PROTOBUF_CONTENT_TYPES:
        return PROTOBUF_FORMAT
    return JSON_FORMAT if _JSON_OBJECT_START.match(body) else PROTOBUF_FORMAT


def parse_session_batch(body: bytes, body_format: str) -> list[SessionUpdate]:
    """Convert a batch into session updates; raise InvalidSessionPayload naming the first bad field."""
    batch = _decode_json(body) if body_format == JSON_FORMAT else _decode_protobuf(body)
    if not batch.sessions:
        raise InvalidSessionPayload("the batch contains no session updates: expected a non-empty 'sessions' list")
    return [_update(message, index) for index, message in enumerate(batch.sessions)]


def json_error_path(error: json_format.ParseError) -> str:
    """Return the field path a json_format error names (e.g. ``sessions[0].status``), without the value."""
    match = _JSON_ERROR_PATH.search(str(error))
    return match.group(1).rstrip(".") if match else ""


def _decode_protobuf(body: bytes) -> pb.SessionBatch:
    try:
        return pb.SessionBatch.FromString(body)
    except DecodeError:
        raise InvalidSessionPayload("body is not a protobuf shindan.v1.SessionBatch (send JSON with Content-Type: application/json)") from None


def _decode_json(body: bytes) -> pb.SessionBatch:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise InvalidSessionPayload("body is not valid JSON") from None
    if not isinstance(data, dict):
        raise InvalidSessionPayload("body is not a JSON object with a 'sessions' list")
    _accept_short_status_names(data)
    try:
        return json_format.ParseDict(data, pb.SessionBatch())
    except json_format.ParseError as error:
        message = f"body does not match shindan.v1.SessionBatch at {json_error_path(error) or 'the top level'}"
        raise InvalidSessionPayload(message, f"{message}: {error}") from None


def _accept_short_status_names(data: dict[str, object]) -> None:
    """Let JSON senders write "crashed" where json_format expects "SESSION_STATUS_CRASHED"."""
    sessions = data.get("sessions")
    if not isinstance(sessions, list):
        return
    for update in sessions:
        if isinstance(update, dict) and isinstance(update.get("status"), str) and update["status"] in _SHORT_STATUSES:
            update["status"] = _SHORT_STATUSES[update["status"]]


_SHORT_STATUSES = {name: f"SESSION_STATUS_{name.upper()}" for name in ("ok", "exited", "crashed", "abnormal", "errored")}


def _update(message: pb.SessionUpdate, index: int) -> SessionUpdate:
    where = f"sessions[{index}]"
    if not message.HasField("started"):
        raise InvalidSessionPayload(f"{where}.started is missing")
    try:
        started = message.started.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise InvalidSessionPayload(f"{where}.started is out of range") from None
    if not message.release:
        raise InvalidSessionPayload(f"{where}.release is missing: sessions are counted per release")
    if message.status not in _STATUS_NAMES:
        raise InvalidSessionPayload(f"{where}.status is not a known SessionStatus")
    duration = None
    if message.HasField("duration_seconds"):
        duration = message.duration_seconds
        if not math.isfinite(duration) or duration < 0:
            raise InvalidSessionPayload(f"{where}.duration_seconds is not a non-negative number")
    return SessionUpdate(
        session_id=message.session_id,
        distinct_id=message.installation_id,
        init=message.init,
        started=started,
        status=_STATUS_NAMES[message.status],
        errors=message.errors,
        duration=duration,
        attributes=SessionAttributes.clipped(message.release, message.environment, message.os_name, message.os_version, message.device_model),
    )

