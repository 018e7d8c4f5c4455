"""Parse Sentry envelope items ``session`` (one session update) and ``sessions`` (pre-aggregated counts).

Field meanings follow Sentry's SDK developer documentation, "Sessions"
(develop.sentry.dev/sdk/sessions/). Sentry session items carry release,
environment, IP address and user agent, but no OS version or device model,
so those attributes are "" for every session counted from them. The IP
address and user agent are ignored.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from service.sessions.model import STATUSES, InvalidSessionPayload, SessionAttributes, SessionGroup, SessionUpdate


def parse_session_item(body: bytes) -> SessionUpdate:
    data = _json_object(body, "session item")
    return SessionUpdate(
        session_id=_optional_string(data, "sid"),
        distinct_id=_optional_string(data, "did"),
        init=data.get("init") is True,
        started=parse_timestamp(data.get("started"), "started"),
        status=_status(data.get("status")),
        errors=_count(data, "errors"),
        duration=_duration(data.get("duration")),
        attributes=_attributes(data.get("attrs")),
    )


def parse_sessions_item(body: bytes) -> list[SessionGroup]:
    data = _json_object(body, "sessions item")
    attributes = _attributes(data.get("attrs"))
    aggregates = data.get("aggregates")
    if not isinstance(aggregates, list):
        raise InvalidSessionPayload("sessions item: 'aggregates' is missing or not a list")
    groups = []
    for index, aggregate in enumerate(aggregates):
        if not isinstance(aggregate, dict):
            raise InvalidSessionPayload(f"sessions item: aggregates[{index}] is not an object")
        where = f"aggregates[{index}]"
        groups.append(
            SessionGroup(
                started=parse_timestamp(aggregate.get("started"), f"{where}.started"),
                distinct_id=_optional_string(aggregate, "did", where),
                exited=_count(aggregate, "exited", where),
                errored=_count(aggregate, "errored", where),
                abnormal=_count(aggregate, "abnormal", where),
                crashed=_count(aggregate, "crashed", where),
                attributes=attributes,
            )
        )
    return groups


def parse_timestamp(value: object, field: str) -> datetime:
    """Read an RFC 3339 string or a Unix time in seconds as an aware UTC datetime."""
    if isinstance(value, bool) or value is None:
        raise InvalidSessionPayload(f"'{field}' is missing: expected an RFC 3339 timestamp")
    if isinstance(value, (int, float)):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            raise InvalidSessionPayload(f"'{field}' is not a valid Unix time") from None
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidSessionPayload(f"'{field}' is not an RFC 3339 timestamp") from None
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    raise InvalidSessionPayload(f"'{field}' is not an RFC 3339 timestamp")


def _json_object(body: bytes, description: str) -> dict[str, Any]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise InvalidSessionPayload(f"{description} is not valid JSON") from None
    if not isinstance(data, dict):
        raise InvalidSessionPayload(f"{description} is not a JSON object")
    return data


def _attributes(attrs: object) -> SessionAttributes:
    if not isinstance(attrs, dict):
        raise InvalidSessionPayload("'attrs' is missing: it must contain at least 'release'")
    release = attrs.get("release")
    if not isinstance(release, str) or not release:
        raise InvalidSessionPayload("'attrs.release' is missing: sessions are counted per release")
    environment = attrs.get("environment")
    return SessionAttributes.clipped(release, environment if isinstance(environment, str) else "")


def _optional_string(data: dict[str, Any], key: str, where: str = "") -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidSessionPayload(f"'{where + '.' if where else ''}{key}' is not a string")
    return value


def _status(value: object) -> str:
    if value is None:
        return "ok"
    if value not in STATUSES:
        raise InvalidSessionPayload(f"'status' is not one of {', '.join(STATUSES)}")
    return str(value)


def _count(data: dict[str, Any], key: str, where: str = "") -> int:
    value = data.get(key, 0)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidSessionPayload(f"'{where + '.' if where else ''}{key}' is not a non-negative integer")
    return value


def _duration(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise InvalidSessionPayload("'duration' is not a non-negative number of seconds")
    return float(value)
