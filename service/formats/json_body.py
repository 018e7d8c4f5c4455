"""Decoding JSON payloads."""

from __future__ import annotations

import json

import orjson

from service.formats.errors import InvalidPayload


def load_json(body: bytes, what: str = "payload") -> object:
    """Parse JSON with orjson, falling back to the standard library for what orjson rejects.

    orjson is about three times faster on a 60 KB event. It rejects NaN and
    integers beyond 64 bits, which the standard parser reads.
    """
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(body)
    except ValueError as error:
        raise InvalidPayload(f"{what} is not valid JSON: {error}") from None


def starts_like_json_object(body: bytes) -> bool:
    return body[:64].lstrip().startswith(b"{")
