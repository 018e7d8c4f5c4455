"""Jinja filters that format stored values for display; they are the same in every language."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from service.clock import as_utc


def format_datetime(value: str | datetime | None) -> str:
    """Format an aware datetime or an ISO 8601 string as ``2024-05-01 12:34:56 UTC``."""
    if value is None or value == "":
        return ""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else value
    return as_utc(moment).strftime("%Y-%m-%d %H:%M:%S UTC")


def format_date_minutes(value: str | datetime | None) -> str:
    """Format like ``format_datetime`` without seconds, for dense tables."""
    text = format_datetime(value)
    return text[:16] + " UTC" if text else ""


def short_release(release: str | None) -> str:
    """Drop the bundle id of a Sentry mobile release: ``com.example.app@1.2.0+42`` becomes ``1.2.0+42``."""
    if not release:
        return ""
    bundle_id, at, version = release.rpartition("@")
    return version if at and bundle_id and version else release


def format_number(value: int | str | None) -> str:
    """Group thousands with commas, as both English and Japanese write counts."""
    if value is None or value == "":
        return ""
    return f"{int(value):,}"


def format_bytes(value: int | str | None) -> str:
    """Format a byte count with a binary unit (KiB, MiB, GiB)."""
    if value is None or value == "":
        return ""
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def format_hex(value: int | str | None) -> str:
    """Format an integer, its decimal string (as protobuf JSON writes 64-bit numbers) or a hex string as hex."""
    if value is None or value == "":
        return ""
    if isinstance(value, str) and value.lower().startswith("0x"):
        return f"0x{int(value, 16):x}"
    return f"0x{int(value):x}"


def basename(path: str | None) -> str:
    """Return the last component of a POSIX or Windows path."""
    if not path:
        return ""
    return path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]


def short_id(value: str | None, length: int = 12) -> str:
    """Return the first ``length`` characters of an id such as an event id or a hash."""
    return (value or "")[:length]


def frame_location(frame: dict[str, Any]) -> str:
    """``file:line:column`` of a rendered frame, from the short file name when there is one."""
    path = str(frame.get("filename") or frame.get("abs_path") or "")
    if path and frame.get("lineno"):
        path += f":{frame['lineno']}"
        if frame.get("colno"):
            path += f":{frame['colno']}"
    return path


FILTERS = {
    "location": frame_location,
    "datetime": format_datetime,
    "date_minutes": format_date_minutes,
    "short_release": short_release,
    "number": format_number,
    "bytes": format_bytes,
    "hex": format_hex,
    "basename": basename,
    "short_id": short_id,
}
