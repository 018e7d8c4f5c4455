"""Convert KSCrash JSON reports, and SentryCrash reports as sentry-cocoa writes them, into CrashReports.

SentryCrash is sentry-cocoa's fork of KSCrash and writes the same layout:
``report`` (id, timestamp), ``system`` (app, device and OS), ``binary_images``,
``crash.error`` (Mach exception, signal, NSException or C++ exception),
``crash.threads`` (backtraces innermost first, registers) and ``user``. The two
differ only in ``user``. KSCrash stores the app's own key-value data there,
and it becomes custom keys. sentry-cocoa stores its scope (release, user,
tags, extra, breadcrumbs, contexts) there or in ``sentry_sdk_scope``, and
those are read as the same fields of a Sentry event are.

A report whose structure is broken (a binary image or a stack frame that is
not an object, a frame without an address) is rejected with
``InvalidPayload`` instead of giving a partial event, as sentry-cocoa drops
such a report. A top-level JSON array is read as a list of reports.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from service.formats.apple_common import (
    KEY_CRASH_DIAGNOSIS,
    MECHANISM_CPP_EXCEPTION,
    MECHANISM_NSEXCEPTION,
    CrashCause,
    add_note,
    build_exception,
    debug_id_and_code_id,
    event_id_from_uuid,
    fill_frame_packages,
    new_report,
    os_name,
    reported_function,
    set_app,
    set_custom_key,
    set_device_arch,
    set_installation_id,
    set_timestamp,
    trim_frames,
)
from service.formats.errors import InvalidPayload
from service.formats.json_body import load_json
from service.formats.sentry_breadcrumbs import convert_breadcrumbs
from service.formats.sentry_contexts import MAX_CUSTOM_KEYS, collect_custom_keys, convert_app, convert_user
from service.formats.sentry_images import macho_arch_name
from service.formats.sentry_values import (
    as_dict,
    as_text,
    parse_bool,
    parse_code64,
    parse_int32,
    parse_int64,
    parse_timestamp,
    parse_uint64,
)
from service.schema import crash_report_pb2 as pb

SOURCE_KSCRASH = "kscrash"
SOURCE_SENTRYCRASH = "sentrycrash"

_SNIFF_BYTES = 4096
# Keys sentry-cocoa writes into the report: the scope (sentry-cocoa 7 and later)
# and the serialized release and event data of older releases.
_SENTRY_MARKERS = (b'"sentry_sdk_scope"', b'"releaseVersion_serialized"', b'"buildNumber_serialized"', b'"event_extra"')
_DEADLOCK_VALUE = "Application main thread deadlocked"
# Report timestamps above these are in microseconds (KSCrash 2) or milliseconds.
_MICROSECONDS_THRESHOLD = 1e14
_MILLISECONDS_THRESHOLD = 1e11


def sniff_kscrash(body: bytes) -> bool:
    return _looks_like_kscrash(body) and not _has_sentry_scope(body)


def sniff_sentrycrash(body: bytes) -> bool:
    return _looks_like_kscrash(body) and _has_sentry_scope(body)


def _looks_like_kscrash(body: bytes) -> bool:
    head = body[:_SNIFF_BYTES].lstrip()
    if not head.startswith((b"{", b"[")):
        return False
    return b'"binary_images"' in head or (b'"report"' in head and b'"process_name"' in head)


def _has_sentry_scope(body: bytes) -> bool:
    return any(marker in body for marker in _SENTRY_MARKERS)


def convert_kscrash(body: bytes, received_at: datetime) -> list[pb.CrashReport]:
    """Convert KSCrash JSON; the registry's converter for ``kscrash``."""
    return _convert(body, received_at, SOURCE_KSCRASH)


def convert_sentrycrash(body: bytes, received_at: datetime) -> list[pb.CrashReport]:
    """Convert a SentryCrash report file; the registry's converter for ``sentrycrash``."""
    return _convert(body, received_at, SOURCE_SENTRYCRASH)


def _convert(body: bytes, received_at: datetime, source_format: str) -> list[pb.CrashReport]:
    data = load_json(body, f"{source_format} report")
    documents = data if isinstance(data, list) else [data]
    reports = []
    for position, document in enumerate(documents):
        where = f"report [{position}]" if isinstance(data, list) else "the report"
        if not isinstance(document, dict):
            raise InvalidPayload(f"{where} is not a JSON object")
        reports.append(_convert_document(document, received_at, source_format, where))
    return reports


def _convert_document(document: dict[str, Any], received_at: datetime, source_format: str, where: str) -> pb.CrashReport:
    crash = document.get("crash")
    if not isinstance(crash, dict):
        raise InvalidPayload(f"{where} has no 'crash' object")
    report = new_report(source_format, received_at)
    header = as_dict(document.get("report"))
    report.event_id = event_id_from_uuid(as_text(header.get("id")))
    set_timestamp(report, _report_time(header.get("timestamp")))

    report.images.extend(_convert_images(document.get("binary_images"), where))
    threads = _convert_threads(crash.get("threads"), where, report)
    report.threads.extend(threads)
    error = as_dict(crash.get("error"))
    if not threads and not error:
        raise InvalidPayload(f"{where} has neither crash.error nor crash.threads")
    if error:
        crashed = next((thread.id for thread in threads if thread.crashed), None)
        report.exceptions.append(build_exception(_crash_cause(error, crashed)))
    set_custom_key(report, KEY_CRASH_DIAGNOSIS, as_text(crash.get("diagnosis")))

    system = as_dict(document.get("system"))
    _set_environment(report, system)
    if source_format == SOURCE_SENTRYCRASH:
        _apply_sentry_scope(report, document)
    else:
        _add_user_data(report, as_dict(document.get("user")))
    set_installation_id(report, as_text(system.get("device_app_hash")))
    fill_frame_packages(report)
    return report


def _report_time(value: Any) -> datetime | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
        if seconds > _MICROSECONDS_THRESHOLD:
            seconds /= 1_000_000
        elif seconds > _MILLISECONDS_THRESHOLD:
            seconds /= 1000
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    return parse_timestamp(value)


def _convert_images(raw_images: Any, where: str) -> list[pb.Image]:
    if raw_images is None:
        return []
    if not isinstance(raw_images, list):
        raise InvalidPayload(f"binary_images of {where} is not a list")
    images = []
    for position, raw in enumerate(raw_images):
        if not isinstance(raw, dict):
            raise InvalidPayload(f"binary_images[{position}] of {where} is not an object")
        debug_id, code_id = debug_id_and_code_id(as_text(raw.get("uuid")))
        image = pb.Image(
            type=pb.IMAGE_TYPE_MACHO,
            code_file=as_text(raw.get("name")),
            debug_id=debug_id,
            code_id=code_id,
            image_addr=parse_uint64(raw.get("image_addr")) or 0,
            image_size=parse_uint64(raw.get("image_size")) or 0,
            image_vmaddr=parse_uint64(raw.get("image_vmaddr")) or 0,
            arch=macho_arch_name(raw.get("cpu_type"), raw.get("cpu_subtype")),
        )
        images.append(image)
    return images


def _convert_threads(raw_threads: Any, where: str, report: pb.CrashReport) -> list[pb.Thread]:
    if raw_threads is None:
        return []
    if not isinstance(raw_threads, list):
        raise InvalidPayload(f"crash.threads of {where} is not a list")
    threads = []
    for position, raw in enumerate(raw_threads):
        if not isinstance(raw, dict):
            raise InvalidPayload(f"crash.threads[{position}] of {where} is not an object")
        index = parse_int64(raw.get("index"))
        thread = pb.Thread(
            id=position if index is None else index,
            name=as_text(raw.get("name")),
            queue=as_text(raw.get("dispatch_queue")),
            crashed=parse_bool(raw.get("crashed")) or False,
            current=parse_bool(raw.get("current_thread")) or False,
        )
        thread.main = thread.id == 0
        backtrace = raw.get("backtrace")
        frames = _convert_backtrace(backtrace, f"crash.threads[{position}].backtrace of {where}")
        thread.frames.extend(trim_frames(frames))
        skipped = parse_uint64(as_dict(backtrace).get("skipped")) or 0
        if skipped:
            add_note(report, f"Thread {thread.id}: the crash reporter skipped {skipped} frames in the middle of the stack.")
        registers = as_dict(raw.get("registers"))
        for name, value in {**as_dict(registers.get("basic")), **as_dict(registers.get("exception"))}.items():
            number = parse_uint64(value)
            if number is not None and name != "exception":
                thread.registers[str(name)] = number
        threads.append(thread)
    return threads


def _convert_backtrace(backtrace: Any, where: str) -> list[pb.Frame]:
    if backtrace is None:
        return []
    if not isinstance(backtrace, dict) or not isinstance(backtrace.get("contents", []), list):
        raise InvalidPayload(f"{where} is not an object with a 'contents' list")
    frames = []
    for position, raw in enumerate(backtrace.get("contents", [])):
        if not isinstance(raw, dict):
            raise InvalidPayload(f"{where}.contents[{position}] is not an object")
        address = parse_uint64(raw.get("instruction_addr"))
        if address is None:
            raise InvalidPayload(f"{where}.contents[{position}] has no instruction_addr")
        frame = pb.Frame(
            instruction_addr=address,
            image_addr=parse_uint64(raw.get("object_addr")) or 0,
            symbol_addr=parse_uint64(raw.get("symbol_addr")) or 0,
            package=as_text(raw.get("object_name")),
            function=reported_function(as_text(raw.get("symbol_name"))),
            platform="native",
        )
        frames.append(frame)
    return frames


def _crash_cause(error: dict[str, Any], crashed: int | None) -> CrashCause:
    mach = as_dict(error.get("mach"))
    signal = as_dict(error.get("signal"))
    cause = CrashCause(
        mach_name=as_text(mach.get("exception_name")),
        mach_number=parse_int64(mach.get("exception")) or None,
        code=parse_code64(mach.get("code")),
        subcode=parse_code64(mach.get("subcode")),
        signal_name=as_text(signal.get("name")),
        signal_number=parse_int32(signal.get("signal")) or None,
        signal_code=parse_int32(signal.get("code")),
        signal_code_name=as_text(signal.get("code_name")),
        fault_address=parse_uint64(error.get("address")),
        thread_id=crashed,
    )
    code_name = as_text(mach.get("code_name"))
    if code_name:
        cause.code_description = f"{code_name} at {cause.fault_address:#x}" if cause.fault_address is not None else code_name
    kind = as_text(error.get("type"))
    reason = as_text(error.get("reason"))
    if kind == "nsexception":
        exception = as_dict(error.get("nsexception"))
        cause.exception_name = as_text(exception.get("name")) or "NSException"
        cause.exception_reason = as_text(exception.get("reason")) or reason
        cause.exception_mechanism = MECHANISM_NSEXCEPTION
    elif kind == "cpp_exception":
        cause.exception_name = as_text(as_dict(error.get("cpp_exception")).get("name")) or "C++ exception"
        cause.exception_reason = reason
        cause.exception_mechanism = MECHANISM_CPP_EXCEPTION
    elif kind == "deadlock":
        cause.exception_name, cause.exception_reason, cause.exception_mechanism = "Deadlock", _DEADLOCK_VALUE, "deadlock"
    elif kind == "user":
        user_reported = as_dict(error.get("user_reported"))
        cause.exception_name = as_text(user_reported.get("name")) or "User reported"
        cause.exception_reason = reason
        cause.exception_mechanism = "user_reported"
    elif reason:
        cause.message = reason
    return cause


def _set_environment(report: pb.CrashReport, system: dict[str, Any]) -> None:
    set_app(
        report,
        as_text(system.get("CFBundleIdentifier")),
        as_text(system.get("CFBundleName")) or as_text(system.get("CFBundleExecutable")),
        as_text(system.get("CFBundleShortVersionString")),
        as_text(system.get("CFBundleVersion")),
    )
    stats = as_dict(system.get("application_stats"))
    in_foreground = parse_bool(stats.get("application_in_foreground"))
    if in_foreground is not None:
        report.app.in_foreground = in_foreground

    device = report.device
    device.model = as_text(system.get("machine"))
    device.model_id = as_text(system.get("model"))
    device.simulator = device.model_id == "simulator" or as_text(system.get("build_type")) == "simulator"
    memory = as_dict(system.get("memory"))
    device.memory_size = parse_uint64(memory.get("size")) or 0
    device.free_memory = parse_uint64(memory.get("free")) or 0
    set_device_arch(report, as_text(system.get("cpu_arch")))

    report.os.name = os_name(as_text(system.get("system_name")))
    report.os.version = as_text(system.get("system_version"))
    report.os.build = as_text(system.get("os_version"))
    report.os.kernel_version = as_text(system.get("kernel_version"))
    report.os.rooted = parse_bool(system.get("jailbroken")) or False


def _add_user_data(report: pb.CrashReport, user_data: dict[str, Any]) -> None:
    """Store KSCrash's free-form ``user`` section as custom keys named ``user.<key>``."""
    keys, dropped = collect_custom_keys({"extra": {"user": user_data}}, {})
    for key, value in keys.items():
        report.custom_keys[key] = value
    if dropped:
        add_note(report, f"{dropped} user values were dropped over the limit of {MAX_CUSTOM_KEYS} custom keys.")


def _apply_sentry_scope(report: pb.CrashReport, document: dict[str, Any]) -> None:
    """Read sentry-cocoa's scope into release, user, tags, custom keys and breadcrumbs.

    sentry-cocoa 7 and later write the scope to ``sentry_sdk_scope`` and the
    contexts and release to ``user``. Older releases wrote
    ``releaseVersion_serialized``, ``buildNumber_serialized``, ``event_tags``
    and ``event_extra`` into ``user``.
    """
    user_section = as_dict(document.get("user"))
    scope = {**user_section, **as_dict(document.get("sentry_sdk_scope"))}
    event = {
        "release": scope.get("release"),
        "dist": scope.get("dist") or user_section.get("buildNumber_serialized"),
        "environment": scope.get("environment"),
        "user": scope.get("user"),
        "extra": {**as_dict(user_section.get("event_extra")), **as_dict(scope.get("extra"))},
    }
    contexts = as_dict(scope.get("context"))
    app = convert_app(event, contexts)
    if not app.release and as_text(user_section.get("releaseVersion_serialized")):
        app.version = app.version or as_text(user_section.get("releaseVersion_serialized"))
    report.app.MergeFrom(app)
    if not report.app.release:
        set_app(report, report.app.bundle_id, "", report.app.version, report.app.build)
    user = convert_user(event, contexts)
    report.user.id_hash = user.id_hash or report.user.id_hash
    for key, value in {**as_dict(user_section.get("event_tags")), **as_dict(scope.get("tags"))}.items():
        if value is not None:
            report.tags[str(key)] = as_text(value)
    keys, dropped = collect_custom_keys(event, contexts)
    for key, value in keys.items():
        report.custom_keys[key] = value
    if dropped:
        add_note(report, f"{dropped} extra and context values were dropped over the limit of {MAX_CUSTOM_KEYS} custom keys.")
    report.breadcrumbs.extend(convert_breadcrumbs(scope.get("breadcrumbs")))
