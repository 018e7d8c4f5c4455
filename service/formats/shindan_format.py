"""Read Shindan's own format: a ``shindan.v1.CrashReport`` as protobuf bytes or as its canonical JSON.

The JSON form is what ``google.protobuf.json_format.MessageToJson`` writes
(lowerCamelCase keys, enum names, RFC 3339 timestamps, 64-bit integers as
strings). The original snake_case field names are accepted too. Fields this
version does not know are ignored in both forms, so newer senders work.

A report needs at least an exception, a thread or a message, and anything
else is rejected. Processing notes are written by Shindan's own processing steps, so
notes in the payload are dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from google.protobuf import json_format
from google.protobuf.message import DecodeError

from service.formats.errors import InvalidPayload
from service.formats.json_body import load_json, starts_like_json_object
from service.schema import crash_report_pb2 as pb

SOURCE_FORMAT = "shindan"

WIRE_VARINT = 0
WIRE_FIXED64 = 1
WIRE_LENGTH_DELIMITED = 2
WIRE_FIXED32 = 5
_FIXED_SIZES = {WIRE_FIXED64: 8, WIRE_FIXED32: 4}
_MAX_FIELD_NUMBER = (1 << 29) - 1

_EVENT_ID = re.compile(r"^[0-9a-f]{32}$")
# json_format nests "Failed to parse <field> field: " once per level of the failing field.
_PARSE_ERROR_FIELD = re.compile(r"Failed to parse (\w+) field: ")

# Top-level fields that a CrashReport's JSON has and a Sentry event never has
# at the top level. The JSON sniffer requires one of them.
_SHINDAN_ONLY_JSON_KEYS = frozenset(
    {"sourceFormat", "source_format", "exceptions", "images", "customKeys", "custom_keys", "sdkName", "sdk_name",
     "sdkVersion", "sdk_version", "eventId", "app", "device", "os"}
)
_CONTENT_FIELDS = (9, 10, 16)  # exceptions, threads, message


@dataclass(frozen=True)
class WireField:
    """A top-level protobuf field: for a varint its value, for a length-delimited field its byte range."""

    number: int
    wire_type: int
    value: int
    start: int = 0
    end: int = 0


def scan_top_level(body: bytes, *, allow_truncated: bool = False) -> list[WireField] | None:
    """Walk the top-level fields of a protobuf message without decoding nested messages.

    Returns None when the bytes are not a well-formed message: a bad varint,
    field number 0, a group (which proto3 never writes) or an unknown wire
    type. With ``allow_truncated``, a field cut off by the end of ``body``
    ends the scan instead, for sniffing a prefix of a larger body.
    """
    fields: list[WireField] = []
    position = 0
    size = len(body)
    while position < size:
        key = _read_varint(body, position)
        if key is None:
            return fields if allow_truncated and _varint_runs_off(body, position) else None
        tag, position = key
        number, wire_type = tag >> 3, tag & 7
        if number == 0 or number > _MAX_FIELD_NUMBER:
            return None
        if wire_type == WIRE_VARINT:
            value = _read_varint(body, position)
            if value is None:
                return fields if allow_truncated and _varint_runs_off(body, position) else None
            fields.append(WireField(number, wire_type, value[0]))
            position = value[1]
        elif wire_type == WIRE_LENGTH_DELIMITED:
            length = _read_varint(body, position)
            if length is None:
                return fields if allow_truncated and _varint_runs_off(body, position) else None
            start = length[1]
            end = start + length[0]
            if end > size:
                return fields if allow_truncated else None
            fields.append(WireField(number, wire_type, length[0], start, end))
            position = end
        elif wire_type in _FIXED_SIZES:
            end = position + _FIXED_SIZES[wire_type]
            if end > size:
                return fields if allow_truncated else None
            fields.append(WireField(number, wire_type, int.from_bytes(body[position:end], "little"), position, end))
            position = end
        else:
            return None
    return fields


def _read_varint(body: bytes, position: int) -> tuple[int, int] | None:
    result = 0
    for shift in range(0, 70, 7):
        if position >= len(body):
            return None
        byte = body[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, position
    return None


def _varint_runs_off(body: bytes, position: int) -> bool:
    """Return whether the varint at ``position`` is cut off by the end of ``body``, not malformed."""
    remaining = body[position:]
    return len(remaining) < 10 and all(byte >= 0x80 for byte in remaining)


def _crash_report_wire_types() -> dict[int, int]:
    wire_types = {}
    for field in pb.CrashReport.DESCRIPTOR.fields:
        if field.type in (field.TYPE_MESSAGE, field.TYPE_STRING, field.TYPE_BYTES) or field.is_repeated:
            wire_types[field.number] = WIRE_LENGTH_DELIMITED
        else:
            wire_types[field.number] = WIRE_VARINT
    return wire_types


_CRASH_REPORT_WIRE_TYPES = _crash_report_wire_types()


def sniff_protobuf(body: bytes) -> bool:
    """Return whether ``body`` is a well-formed CrashReport message with content.

    Relies on the whole body being a valid sequence of top-level fields, on
    every known field having its declared wire type, and on at least one
    exception, thread or message (fields 9, 10, 16) being present. A
    Tombstone fails the wire-type check: its pid and tid (fields 5 and 6)
    are varints, where a CrashReport has ``level`` (a varint, so fine) and
    ``app`` (a message). Text and JSON fail the well-formedness check
    almost always, and the converter decodes and validates fully anyway.
    """
    if not body or starts_like_json_object(body):
        return False
    fields = scan_top_level(body)
    if not fields:
        return False
    for field in fields:
        expected = _CRASH_REPORT_WIRE_TYPES.get(field.number)
        if expected is not None and field.wire_type != expected:
            return False
    return any(field.number in _CONTENT_FIELDS for field in fields)


def sniff_json(body: bytes) -> bool:
    """Return whether ``body`` is a JSON object in CrashReport form.

    Both this format and Sentry events use names such as ``event_id``,
    ``threads`` and ``message``, so the object needs a key that a Sentry event
    never has at its top level (``exceptions``, ``images``, ``sourceFormat``,
    ...). With ``sourceFormat``, which only this format has and every
    converter sets, unknown keys from a newer sender are allowed. Without it,
    every key must be a CrashReport field.
    """
    if not starts_like_json_object(body):
        return False
    try:
        document = load_json(body, "report")
    except InvalidPayload:
        return False
    if not isinstance(document, dict) or not document:
        return False
    if "sourceFormat" in document or "source_format" in document:
        return True
    known = _json_field_names()
    return all(key in known for key in document) and any(key in _SHINDAN_ONLY_JSON_KEYS for key in document)


def _json_field_names() -> frozenset[str]:
    names = set()
    for field in pb.CrashReport.DESCRIPTOR.fields:
        names.add(field.name)
        names.add(field.json_name)
    return frozenset(names)


def convert_protobuf(body: bytes, received_at: datetime) -> list[pb.CrashReport]:
    """Decode a CrashReport message (the registry's converter for ``shindan-protobuf``)."""
    try:
        report = pb.CrashReport.FromString(body)
    except DecodeError:
        raise InvalidPayload("body is not a valid shindan.v1 CrashReport protobuf message") from None
    return [_validated(report, received_at)]


def convert_json(body: bytes, received_at: datetime) -> list[pb.CrashReport]:
    """Decode a CrashReport in canonical JSON (the registry's converter for ``shindan-json``)."""
    document = load_json(body, "shindan.v1 CrashReport JSON")
    if not isinstance(document, dict):
        raise InvalidPayload("shindan.v1 CrashReport JSON must be an object")
    report = pb.CrashReport()
    try:
        json_format.ParseDict(document, report, ignore_unknown_fields=True)
    except json_format.ParseError as error:
        raise InvalidPayload(
            f"invalid shindan.v1 CrashReport JSON: field {_error_path(error)} has a value of the wrong type or out of range"
        ) from None
    return [_validated(report, received_at)]


def _error_path(error: json_format.ParseError) -> str:
    """Return the dotted field path of a json_format error (``threads.frames.lineno``), without the value."""
    path = _PARSE_ERROR_FIELD.findall(str(error))
    return ".".join(path) if path else "(top level)"


def _validated(report: pb.CrashReport, received_at: datetime) -> pb.CrashReport:
    if not report.exceptions and not report.threads and not report.message.strip():
        raise InvalidPayload("shindan.v1 CrashReport has no exception, thread or message, and it needs at least one")
    event_id = report.event_id.strip().lower().replace("-", "")
    report.event_id = event_id if _EVENT_ID.match(event_id) else ""
    if not report.HasField("timestamp"):
        report.timestamp.FromDatetime(received_at)
    report.source_format = SOURCE_FORMAT
    del report.notes[:]
    return report
