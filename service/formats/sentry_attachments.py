"""A Sentry event combined with the Apple crash report sent beside it in the same envelope.

sentry-cocoa and older Sentry clients can attach the text crash report as an
``event.applecrashreport`` attachment. Ingest stores the event JSON and the
report together in one payload of this format. Conversion takes the crash
itself from the report: threads, images, exceptions, and device and OS where
the event lacks them. Everything else comes from the event.
"""

from __future__ import annotations

from datetime import datetime

from service.formats.errors import InvalidPayload
from service.formats.json_body import load_json
from service.formats.registry import convert
from service.formats.sentry_event import event_to_report
from service.schema import crash_report_pb2 as pb

SENTRY_EVENT_WITH_APPLE_CRASH = "sentry-event+apple-crash"


def convert_event_with_crash_report(body: bytes, received_at: datetime) -> list[pb.CrashReport]:
    combined = load_json(body, "combined event and crash report")
    if not isinstance(combined, dict) or not isinstance(combined.get("event"), dict) or not isinstance(combined.get("apple_crash_report"), str):
        raise InvalidPayload("combined payload needs an 'event' object and an 'apple_crash_report' string")
    crash = convert("apple-crash", combined["apple_crash_report"].encode(), received_at)[0]
    # The event item may have no stack of its own: the crash report carries it.
    report = event_to_report(combined["event"], received_at=received_at, allow_empty=True)
    merge_crash_into_event(report, crash)
    return [report]


def merge_crash_into_event(report: pb.CrashReport, crash: pb.CrashReport) -> None:
    """Replace the event's crash data with the report's; keep the event's identity and context."""
    del report.threads[:]
    report.threads.extend(crash.threads)
    del report.images[:]
    report.images.extend(crash.images)
    if crash.exceptions:
        del report.exceptions[:]
        report.exceptions.extend(crash.exceptions)
    for name in ("device", "os", "app"):
        merged = type(getattr(crash, name))()
        merged.CopyFrom(getattr(crash, name))
        # Fields the event sets win, because the SDK sets the release and user-facing names.
        merged.MergeFrom(getattr(report, name))
        if name == "device" and report.device.archs:
            merged.ClearField("archs")
            merged.archs.extend(report.device.archs)
        getattr(report, name).CopyFrom(merged)
    if not report.HasField("timestamp") and crash.HasField("timestamp"):
        report.timestamp.CopyFrom(crash.timestamp)
    # The envelope's event id wins over the report's incident id, so the SDK's id finds the event.
    if not report.event_id:
        report.event_id = crash.event_id
    report.platform = pb.PLATFORM_APPLE
    if not report.level:
        report.level = pb.LEVEL_FATAL
    report.source_format = "sentry+crash"
    report.notes.add(step="parse", message="threads, images and exceptions come from the attached Apple crash report")
