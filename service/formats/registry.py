"""Input formats: recognizing a crash file and converting it into CrashReports.

Each format has a converter ``(body, received_at) -> list[CrashReport]``
that raises ``InvalidPayload`` (or ``UnsupportedReport``) with a message for
the sender, and optionally a ``sniff(body) -> bool`` used by
``detect_format``. Both are named as ``"module:function"`` and imported on
first use, so the ingest process loads only the parsers it needs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from service.formats.errors import InvalidPayload
from service.schema import crash_report_pb2 as pb

Converter = Callable[[bytes, datetime], list[pb.CrashReport]]
Sniffer = Callable[[bytes], bool]


@dataclass(frozen=True)
class Format:
    name: str
    description: str
    converter: str
    sniffer: str = ""


# Detection tries sniffers in this order: the binary formats first, then the
# text and JSON formats, each of which checks for keys only it has.
FORMATS: dict[str, Format] = {
    format_.name: format_
    for format_ in (
        Format("tombstone", "Android native crash tombstone (protobuf)", "service.formats.tombstone:convert_tombstone", "service.formats.tombstone:sniff_tombstone"),
        Format("shindan-protobuf", "shindan.v1 CrashReport (protobuf)", "service.formats.shindan_format:convert_protobuf", "service.formats.shindan_format:sniff_protobuf"),
        Format("tombstone-text", "Android native crash tombstone (text, or logcat lines)", "service.formats.tombstone_text:convert_tombstone_text", "service.formats.tombstone_text:sniff_tombstone_text"),
        Format("anr", "Android ANR trace (thread dump)", "service.formats.anr:convert_anr", "service.formats.anr:sniff_anr"),
        Format("shindan-json", "shindan.v1 CrashReport (canonical JSON)", "service.formats.shindan_format:convert_json", "service.formats.shindan_format:sniff_json"),
        Format("apple-ips", "Apple .ips crash report (bug_type 309 JSON or 109 text)", "service.formats.apple_ips:convert_ips", "service.formats.apple_ips:sniff_ips"),
        Format("sentrycrash", "SentryCrash report as sentry-cocoa writes it (JSON)", "service.formats.kscrash:convert_sentrycrash", "service.formats.kscrash:sniff_sentrycrash"),
        Format("kscrash", "KSCrash report (JSON)", "service.formats.kscrash:convert_kscrash", "service.formats.kscrash:sniff_kscrash"),
        Format("metrickit", "MetricKit diagnostic payload (MXDiagnosticPayload JSON)", "service.formats.metrickit:convert_metrickit", "service.formats.metrickit:sniff_metrickit"),
        Format("apple-crash", "Apple crash report text (.crash)", "service.formats.apple_crash:convert_crash_text", "service.formats.apple_crash:sniff_crash_text"),
        Format("sentry-event", "Sentry event JSON", "service.formats.sentry_event:convert_event_payload", "service.formats.sentry_event:sniff_event"),
        # Made by ingest from an envelope's event and its Apple crash report attachment; never detected.
        Format("sentry-event+apple-crash", "Sentry event with its Apple crash report", "service.formats.sentry_attachments:convert_event_with_crash_report"),
        # Made by ingest when the sender adds facts to a file; never detected.
        Format("prepared-report", "CrashReport converted at ingest", "service.formats.prepared:convert_prepared"),
    )
}


class UnknownFormat(InvalidPayload):
    """The body matches no supported format."""


def names() -> list[str]:
    """Return the formats a sender can choose or detection can find (not those ingest makes itself)."""
    return [name for name, format_ in FORMATS.items() if format_.sniffer]


def detect_format(body: bytes) -> str:
    """Return the name of the first format whose sniffer accepts ``body``."""
    for format_ in FORMATS.values():
        if format_.sniffer and _load(format_.sniffer)(body):
            return format_.name
    raise UnknownFormat("the body is not a supported crash report format; supported: " + ", ".join(names()) + " (pass ?format= to choose one)")


def converter_for(name: str) -> Converter:
    format_ = FORMATS.get(name)
    if format_ is None:
        raise UnknownFormat(f"unknown format {name!r}; supported: " + ", ".join(names()))
    return _load(format_.converter)  # type: ignore[no-any-return]


def convert(name: str, body: bytes, received_at: datetime) -> list[pb.CrashReport]:
    """Convert ``body`` in format ``name``; raise InvalidPayload when it yields no report."""
    reports = converter_for(name)(body, received_at)
    if not reports:
        raise InvalidPayload(f"the {name} payload contains no crash report")
    return reports


@cache
def _load(target: str) -> Callable[..., object]:
    module_name, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module_name), attribute)  # type: ignore[no-any-return]
