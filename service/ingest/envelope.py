"""Sentry envelope parsing: a JSON header line, then items of a JSON header and a payload."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from service.ingest.errors import invalid_payload


@dataclass
class EnvelopeItem:
    headers: dict[str, Any]
    payload: bytes

    @property
    def type(self) -> str:
        return str(self.headers.get("type", ""))


@dataclass
class Envelope:
    headers: dict[str, Any]
    items: list[EnvelopeItem] = field(default_factory=list)


def _load_header(line: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(line) if line.strip() else {}
    except ValueError:
        raise invalid_payload(f"{what} is not valid JSON") from None
    if not isinstance(value, dict):
        raise invalid_payload(f"{what} must be a JSON object")
    return value


def parse_envelope_header(body: bytes) -> dict[str, Any]:
    end = body.find(b"\n")
    return _load_header(body if end < 0 else body[:end], "envelope header")


def parse_envelope(body: bytes) -> Envelope:
    """Split an envelope into items; raise IngestRejected(400) when it is malformed."""
    end = body.find(b"\n")
    if end < 0:
        return Envelope(_load_header(body, "envelope header"))
    envelope = Envelope(_load_header(body[:end], "envelope header"))
    position = end + 1
    total = len(body)
    while position < total:
        line_end = body.find(b"\n", position)
        if line_end < 0:
            line_end = total
        header_line = body[position:line_end]
        position = line_end + 1
        if not header_line.strip():
            continue
        index = len(envelope.items)
        headers = _load_header(header_line, f"header of item {index}")
        length = headers.get("length")
        if length is not None:
            if not isinstance(length, int) or length < 0:
                raise invalid_payload(f"item {index} has an invalid length {length!r}")
            if position + length > total:
                raise invalid_payload(f"item {index} declares {length} bytes but the envelope ends first")
            payload = body[position : position + length]
            position += length
            if position < total and body[position : position + 1] == b"\n":
                position += 1
        else:
            payload_end = body.find(b"\n", position)
            if payload_end < 0:
                payload_end = total
            payload = body[position:payload_end]
            position = payload_end + 1
        envelope.items.append(EnvelopeItem(headers, payload))
    return envelope
