"""Convert Sentry breadcrumbs, the request interface and level names."""

from typing import Any

from service.formats.sentry_values import (
    as_dict,
    as_dicts,
    as_json_text,
    as_list,
    as_text,
    parse_timestamp,
    truncate,
)
from service.schema import crash_report_pb2 as pb

# Sentry SDKs keep 100 breadcrumbs by default. Over this limit the most recent ones are kept.
MAX_BREADCRUMBS = 200
MAX_BREADCRUMB_DATA_KEYS = 50
MAX_BREADCRUMB_VALUE_CHARS = 1024

_LEVELS = {
    "fatal": pb.LEVEL_FATAL,
    "critical": pb.LEVEL_FATAL,
    "error": pb.LEVEL_ERROR,
    "warning": pb.LEVEL_WARNING,
    "warn": pb.LEVEL_WARNING,
    "info": pb.LEVEL_INFO,
    "log": pb.LEVEL_INFO,
    "debug": pb.LEVEL_DEBUG,
}


def parse_level(value: Any) -> pb.Level:
    """Map a Sentry level name to ``pb.Level``, or to ``LEVEL_UNSPECIFIED`` when it is unknown."""
    return _LEVELS.get(as_text(value).strip().lower(), pb.LEVEL_UNSPECIFIED)


def convert_breadcrumbs(breadcrumbs: Any) -> list[pb.Breadcrumb]:
    """Convert breadcrumbs, oldest first as sent, keeping the last ``MAX_BREADCRUMBS``."""
    return [_convert_breadcrumb(raw) for raw in as_dicts(breadcrumbs)[-MAX_BREADCRUMBS:]]


def _convert_breadcrumb(raw: dict[str, Any]) -> pb.Breadcrumb:
    crumb = pb.Breadcrumb(
        type=as_text(raw.get("type")),
        category=as_text(raw.get("category")),
        message=truncate(as_text(raw.get("message")), MAX_BREADCRUMB_VALUE_CHARS),
        level=parse_level(raw.get("level")),
    )
    timestamp = parse_timestamp(raw.get("timestamp"))
    if timestamp is not None:
        crumb.timestamp.FromDatetime(timestamp)
    for key, value in list(as_dict(raw.get("data")).items())[:MAX_BREADCRUMB_DATA_KEYS]:
        if value is not None:
            crumb.data[str(key)] = truncate(as_json_text(value), MAX_BREADCRUMB_VALUE_CHARS)
    return crumb


def convert_request(raw_request: Any) -> pb.Request:
    """Convert the request interface: method, URL with its query string, and headers.

    Cookies, body (``data``) and ``env`` are not stored. Header values are
    scrubbed later by ``service.privacy.scrub``.
    """
    raw = as_dict(raw_request)
    request = pb.Request(method=as_text(raw.get("method")).upper(), url=as_text(raw.get("url")))
    query = _query_text(raw.get("query_string"))
    if query and "?" not in request.url:
        request.url = f"{request.url}?{query}"
    for name, value in _pairs(raw.get("headers")):
        request.headers[name] = value
    return request


def _query_text(value: Any) -> str:
    if isinstance(value, str):
        return value.lstrip("?")
    return "&".join(f"{name}={text}" for name, text in _pairs(value))


def _pairs(value: Any) -> list[tuple[str, str]]:
    """Read name/value pairs from an object or from a list of two-item lists."""
    if isinstance(value, dict):
        return [(str(name), as_text(text)) for name, text in value.items() if text is not None]
    pairs = []
    for item in as_list(value):
        if isinstance(item, list) and len(item) == 2 and isinstance(item[0], str):
            pairs.append((item[0], as_text(item[1])))
    return pairs
