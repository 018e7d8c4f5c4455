"""Tolerant readers for the loosely typed values of a Sentry event payload.

SDKs disagree on types: addresses arrive as ``"0x1a2b"`` strings or as
integers, lists arrive bare or wrapped in ``{"values": [...]}``, timestamps as
ISO 8601 strings or as seconds since the epoch. Every reader here returns a
neutral value (``None``, ``""``, ``{}``, ``[]``) for input it cannot use, so
one bad field never rejects a whole crash.
"""

import json
import math
from datetime import UTC, datetime
from typing import Any

UINT64_MAX = (1 << 64) - 1
INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1
INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1
UINT32_MAX = (1 << 32) - 1

# Seconds since the epoch above this are taken to be milliseconds (the value is
# about the year 5138 in seconds, and March 1973 in milliseconds).
_MILLISECONDS_THRESHOLD = 1e11


def as_dict(value: Any) -> dict[str, Any]:
    """Return ``value`` if it is a JSON object, else an empty dict."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """Return the items of a bare list or of a ``{"values": [...]}`` wrapper."""
    if isinstance(value, dict):
        value = value.get("values")
    return value if isinstance(value, list) else []


def as_dicts(value: Any) -> list[dict[str, Any]]:
    """Return the JSON objects among the items that ``as_list`` finds."""
    return [item for item in as_list(value) if isinstance(item, dict)]


def as_text(value: Any) -> str:
    """Return a scalar as text: strings as they are, numbers and booleans in JSON spelling.

    Objects, lists and ``None`` give ``""``. Use ``as_json_text`` where nested
    values should be kept.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return json.dumps(value) if math.isfinite(value) else ""
    return ""


def as_json_text(value: Any) -> str:
    """Return any JSON value as text: scalars as ``as_text`` does, containers as compact JSON."""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True, default=str)
    return as_text(value)


def truncate(text: str, max_chars: int) -> str:
    """Cut ``text`` to at most ``max_chars`` characters, marking the cut with an ellipsis."""
    if len(text) <= max_chars:
        return text
    return text[: max_chars - 1] + "\u2026"


def parse_integer(value: Any) -> int | None:
    """Read an integer from an int, an integral float, or a decimal or ``0x`` hex string."""
    if type(value) is str and value.startswith("0x") and value[2:].isalnum():
        # The common case, an address as SDKs send it; int() takes the 0x prefix in base 16.
        try:
            return int(value, 16)
        except ValueError:
            return None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and value.is_integer() else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    negative = text.startswith("-")
    if negative:
        text = text[1:]
    try:
        if text[:2].lower() == "0x":
            number = int(text[2:], 16)
        elif text.isdigit():
            number = int(text, 10)
        else:
            return None
    except ValueError:
        return None
    return -number if negative else number


def parse_uint64(value: Any) -> int | None:
    """Read an unsigned 64-bit value (address, size), or ``None`` when it is negative or too large."""
    number = parse_integer(value)
    if number is None or number < 0 or number > UINT64_MAX:
        return None
    return number


def parse_uint32(value: Any) -> int | None:
    """Read an unsigned 32-bit value such as a line number."""
    number = parse_integer(value)
    if number is None or number < 0 or number > UINT32_MAX:
        return None
    return number


def parse_int64(value: Any) -> int | None:
    """Read a signed 64-bit value such as a thread id."""
    number = parse_integer(value)
    if number is None or number < INT64_MIN or number > INT64_MAX:
        return None
    return number


def parse_int32(value: Any) -> int | None:
    """Read a signed 32-bit value such as a signal code."""
    number = parse_integer(value)
    if number is None or number < INT32_MIN or number > INT32_MAX:
        return None
    return number


def parse_code64(value: Any) -> int | None:
    """Read a 64-bit code word, taking negative values as two's complement.

    Mach exception codes are unsigned 64-bit, but SDKs written in languages
    without unsigned types send large codes as negative numbers.
    """
    number = parse_integer(value)
    if number is None or number < INT64_MIN or number > UINT64_MAX:
        return None
    return number & UINT64_MAX


def parse_bool(value: Any) -> bool | None:
    """Read a boolean from ``true``/``false``, ``1``/``0`` or their string forms."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        return value.strip().lower() in ("true", "1")
    return None


def parse_timestamp(value: Any) -> datetime | None:
    """Read an aware UTC datetime from an ISO 8601 string or from seconds since the epoch.

    A time without a zone is taken to be UTC, as Sentry does. Numbers larger
    than ``1e11`` are taken to be milliseconds.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            seconds = float(text)
        except ValueError:
            return _parse_iso_timestamp(text)
        return _timestamp_from_seconds(seconds)
    if isinstance(value, (int, float)):
        return _timestamp_from_seconds(float(value))
    return None


def _parse_iso_timestamp(text: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _timestamp_from_seconds(seconds: float) -> datetime | None:
    if not math.isfinite(seconds):
        return None
    if abs(seconds) > _MILLISECONDS_THRESHOLD:
        seconds /= 1000.0
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
