"""Convert a Sentry event payload into a ``pb.CrashReport``.

Covers what sentry-cocoa, sentry-android/sentry-java and the legacy
sentry-swift 1.x send in the ``event`` item of an envelope or to the store
endpoint. The conversion is tolerant: a field of the wrong type is skipped,
never fatal. Only a payload with nothing to show (no exception, thread, stack
trace or message) is rejected with ``InvalidPayload``.

The returned report contains the RAW user id in ``user.id_hash``: the scrub step
(``service.privacy.scrub.scrub_report``) must run next and hashes it.
"""

import re
from datetime import UTC, datetime
from typing import Any

from service.formats.errors import InvalidPayload
from service.formats.json_body import load_json, starts_like_json_object
from service.formats.sentry_breadcrumbs import convert_breadcrumbs, convert_request, parse_level
from service.formats.sentry_contexts import (
    MAX_CUSTOM_KEYS,
    collect_custom_keys,
    convert_app,
    convert_device,
    convert_os,
    convert_user,
)
from service.formats.sentry_exceptions import convert_exceptions
from service.formats.sentry_frames import PLATFORM_JAVA, PLATFORM_NATIVE, convert_stacktrace, convert_threads
from service.formats.sentry_images import convert_images
from service.formats.sentry_values import as_dict, as_list, as_text, parse_timestamp
from service.schema import crash_report_pb2 as pb

SOURCE_FORMAT = "sentry"
PARSE_STEP = "parse"

_EVENT_ID = re.compile(r"[0-9a-f]{32}")
_APPLE_PLATFORMS = {"cocoa", "objc", "swift"}
_ANDROID_PLATFORMS = {"java", "android", "kotlin"}
_APPLE_OS_NAMES = {"ios", "ipados", "macos", "mac os x", "tvos", "watchos", "visionos", "xros"}


# Keys of which a Sentry event has at least one. The other JSON formats
# (KSCrash, MetricKit, shindan.v1 JSON) use none of them at the top level.
_SENTRY_EVENT_KEYS = (b'"exception"', b'"sdk"', b'"debug_meta"', b'"contexts"')


def sniff_event(body: bytes) -> bool:
    return starts_like_json_object(body) and any(key in body for key in _SENTRY_EVENT_KEYS)


def convert_event_payload(body: bytes, received_at: datetime) -> list[pb.CrashReport]:
    """Convert the JSON of one Sentry event; the registry's converter for ``sentry-event``."""
    return [event_to_report(load_json(body, "event"), received_at=received_at)]  # type: ignore[arg-type]


def event_to_report(event: dict[str, Any], *, received_at: datetime, allow_empty: bool = False) -> pb.CrashReport:
    """Convert a decoded Sentry event into a CrashReport.

    ``received_at`` is used when the event has no usable timestamp.
    ``allow_empty`` accepts an event without a stack, for when an attached
    crash report supplies it.
    ``event_id`` stays empty when the event has no valid id, so that the
    caller sets the id it assigned at ingest. Raises ``InvalidPayload`` when
    the payload is not an object or has nothing to show.
    """
    if not isinstance(event, dict):
        raise InvalidPayload("Sentry event must be a JSON object")
    contexts = as_dict(event.get("contexts"))
    report = pb.CrashReport(source_format=SOURCE_FORMAT)
    report.platform = detect_platform(event, contexts)
    frame_platform = PLATFORM_JAVA if report.platform == pb.PLATFORM_ANDROID and _is_java_event(event) else PLATFORM_NATIVE

    _set_identity(report, event, received_at)
    report.exceptions.extend(convert_exceptions(event.get("exception"), frame_platform, report.platform))
    report.threads.extend(convert_threads(event.get("threads"), frame_platform))
    _attach_top_level_stacktrace(report, event.get("stacktrace"), frame_platform)
    _attach_exception_frames(report)
    report.message = _message_text(event)
    if not report.exceptions and not report.threads and not report.message and not allow_empty:
        raise InvalidPayload("Sentry event has no exception, thread, stack trace or message")

    report.images.extend(convert_images(as_dict(event.get("debug_meta")).get("images"), report.platform))
    report.app.CopyFrom(convert_app(event, contexts))
    report.device.CopyFrom(convert_device(contexts))
    report.os.CopyFrom(convert_os(contexts))
    user = convert_user(event, contexts)
    if user.ByteSize():
        report.user.CopyFrom(user)
    report.breadcrumbs.extend(convert_breadcrumbs(event.get("breadcrumbs")))
    request = convert_request(event.get("request"))
    if request.ByteSize():
        report.request.CopyFrom(request)
    _set_tags_and_keys(report, event, contexts)
    return report


def detect_platform(event: dict[str, Any], contexts: dict[str, Any]) -> pb.Platform:
    """Decide the report platform from ``platform``, then the OS name, then the SDK name.

    ``native`` events come from sentry-native on Android as well as from
    Apple platforms, so they are decided by the OS.
    """
    platform = as_text(event.get("platform")).lower()
    if platform in _APPLE_PLATFORMS:
        return pb.PLATFORM_APPLE
    if platform in _ANDROID_PLATFORMS:
        return pb.PLATFORM_ANDROID
    os_name = as_text(as_dict(contexts.get("os")).get("name")).lower()
    if os_name in _APPLE_OS_NAMES:
        return pb.PLATFORM_APPLE
    if os_name == "android":
        return pb.PLATFORM_ANDROID
    sdk_name = as_text(as_dict(event.get("sdk")).get("name")).lower()
    if "cocoa" in sdk_name or "swift" in sdk_name:
        return pb.PLATFORM_APPLE
    if "android" in sdk_name or "java" in sdk_name:
        return pb.PLATFORM_ANDROID
    return pb.PLATFORM_OTHER if platform else pb.PLATFORM_UNSPECIFIED


def _is_java_event(event: dict[str, Any]) -> bool:
    return as_text(event.get("platform")).lower() != "native"


def _set_identity(report: pb.CrashReport, event: dict[str, Any], received_at: datetime) -> None:
    event_id = as_text(event.get("event_id")).replace("-", "").lower()
    if _EVENT_ID.fullmatch(event_id):
        report.event_id = event_id
    elif event_id:
        _add_note(report, "The event id is not 32 hex digits, so it was ignored.")

    timestamp = parse_timestamp(event.get("timestamp"))
    if timestamp is None:
        if event.get("timestamp") is not None:
            _add_note(report, "The event timestamp is invalid, so the time it was received is used instead.")
        timestamp = received_at if received_at.tzinfo else received_at.replace(tzinfo=UTC)
    report.timestamp.FromDatetime(timestamp)

    level = parse_level(event.get("level"))
    report.level = pb.LEVEL_ERROR if level == pb.LEVEL_UNSPECIFIED else level
    sdk = as_dict(event.get("sdk"))
    report.sdk_name = as_text(sdk.get("name"))
    report.sdk_version = as_text(sdk.get("version"))
    report.transaction = as_text(event.get("transaction"))
    report.fingerprint.extend(text for text in map(as_text, as_list(event.get("fingerprint"))) if text)


def _message_text(event: dict[str, Any]) -> str:
    """Read the message from ``logentry`` or ``message`` (a string or a ``{formatted, message}`` object)."""
    for field in ("logentry", "message"):
        value = event.get(field)
        if isinstance(value, dict):
            text = as_text(value.get("formatted")) or as_text(value.get("message"))
        else:
            text = as_text(value)
        if text:
            return text
    return ""


def _attach_top_level_stacktrace(report: pb.CrashReport, stacktrace: Any, frame_platform: str) -> None:
    """Place an event-level ``stacktrace`` (sent with ``attachStacktrace``) on the exception or a thread."""
    frames = convert_stacktrace(stacktrace, frame_platform)
    if not frames:
        return
    if report.exceptions and not report.exceptions[0].frames:
        report.exceptions[0].frames.extend(frames)
    elif not any(thread.frames for thread in report.threads):
        report.threads.add(current=True).frames.extend(frames)


def _attach_exception_frames(report: pb.CrashReport) -> None:
    """Move exception frames onto their thread when it has none, and drop exact duplicates.

    sentry-java sends the crashed thread without frames and the frames on the
    exception, while sentry-cocoa sends the same frames on both. In the report an
    exception keeps its own frames only where they differ from its thread's.
    """
    for index, exception in enumerate(report.exceptions):
        thread = _thread_of(report, exception, allow_crashed=index == 0)
        if thread is None or not exception.frames:
            continue
        if not thread.frames and index == 0:
            thread.frames.extend(exception.frames)
        if _same_frames(thread.frames, exception.frames):
            del exception.frames[:]


def _thread_of(report: pb.CrashReport, exception: pb.ExceptionInfo, allow_crashed: bool) -> pb.Thread | None:
    if exception.HasField("thread_id"):
        for thread in report.threads:
            if thread.id == exception.thread_id:
                return thread
        return None
    if allow_crashed:
        for thread in report.threads:
            if thread.crashed:
                return thread
    return None


def _same_frames(left: Any, right: Any) -> bool:
    def key(frame: pb.Frame) -> tuple[object, ...]:
        return (frame.instruction_addr, frame.function, frame.module, frame.filename, frame.lineno, frame.package)

    return len(left) == len(right) and all(key(a) == key(b) for a, b in zip(left, right))


def _set_tags_and_keys(report: pb.CrashReport, event: dict[str, Any], contexts: dict[str, Any]) -> None:
    tags = event.get("tags")
    pairs = tags.items() if isinstance(tags, dict) else (
        item for item in as_list(tags) if isinstance(item, list) and len(item) == 2
    )
    for key, value in pairs:
        if isinstance(key, str) and value is not None:
            report.tags[key] = as_text(value)
    custom_keys, dropped = collect_custom_keys(event, contexts)
    for key, value in custom_keys.items():
        report.custom_keys[key] = value
    if dropped:
        _add_note(report, f"{dropped} extra and context values were dropped over the limit of {MAX_CUSTOM_KEYS} custom keys.")


def _add_note(report: pb.CrashReport, message: str) -> None:
    report.notes.add(step=PARSE_STEP, message=message)
