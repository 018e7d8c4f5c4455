"""Convert an Android native crash tombstone in protobuf form into a CrashReport.

An app receives these bytes from ``ApplicationExitInfo.getTraceInputStream()``
for an exit with ``REASON_CRASH_NATIVE`` (Android 12 and later). The message
is AOSP's ``Tombstone`` (service/schema/android_tombstone.proto). Fields this
parser does not know, such as those newer Android versions add, are skipped.
"""

from __future__ import annotations

from datetime import datetime

from google.protobuf.message import DecodeError

from service.formats import android_common as android
from service.formats.errors import InvalidPayload
from service.formats.sentry_breadcrumbs import MAX_BREADCRUMB_VALUE_CHARS, MAX_BREADCRUMBS
from service.formats.sentry_values import truncate
from service.formats.shindan_format import WIRE_LENGTH_DELIMITED, WIRE_VARINT, scan_top_level
from service.schema import android_tombstone_pb2 as tombstone_pb
from service.schema import crash_report_pb2 as pb

SOURCE_FORMAT = "tombstone"

_ARCHS = {
    tombstone_pb.ARM32: "arm",
    tombstone_pb.ARM64: "arm64",
    tombstone_pb.X86: "x86",
    tombstone_pb.X86_64: "x86_64",
    tombstone_pb.RISCV64: "riscv64",
}

# Top-level fields of a Tombstone and their wire types. A shindan.v1
# CrashReport uses field 6 for a message (``app``), never a varint, so a body
# whose field 6 is a varint cannot be a CrashReport.
_TOMBSTONE_WIRE_TYPES = {
    1: WIRE_VARINT,  # arch
    2: WIRE_LENGTH_DELIMITED,  # build_fingerprint
    3: WIRE_LENGTH_DELIMITED,  # revision
    4: WIRE_LENGTH_DELIMITED,  # timestamp
    5: WIRE_VARINT,  # pid
    6: WIRE_VARINT,  # tid
    7: WIRE_VARINT,  # uid
    8: WIRE_LENGTH_DELIMITED,  # selinux_label
    9: WIRE_LENGTH_DELIMITED,  # command_line
    10: WIRE_LENGTH_DELIMITED,  # signal_info
    14: WIRE_LENGTH_DELIMITED,  # abort_message
    16: WIRE_LENGTH_DELIMITED,  # threads
    17: WIRE_LENGTH_DELIMITED,  # memory_mappings
}
_SNIFF_BYTES = 4096

# android_LogPriority values of logcat messages.
_LOG_LEVELS = {2: pb.LEVEL_DEBUG, 3: pb.LEVEL_DEBUG, 4: pb.LEVEL_INFO, 5: pb.LEVEL_WARNING, 6: pb.LEVEL_ERROR,
               7: pb.LEVEL_FATAL}


def sniff_tombstone(body: bytes) -> bool:
    """Return whether ``body`` starts like a Tombstone message.

    Relies on what debuggerd always writes first, in field order: a build
    fingerprint (field 2, a string with ``/`` and ``:``), then pid and tid
    (fields 5 and 6, non-zero varints). The top-level fields in the first
    4 KB must be well-formed and each known field must have its declared
    wire type. A CrashReport fails the tid check, because its field 6 is a
    nested message.
    """
    prefix = body[:_SNIFF_BYTES]
    fields = scan_top_level(prefix, allow_truncated=True)
    if not fields:
        return False
    for field in fields:
        expected = _TOMBSTONE_WIRE_TYPES.get(field.number)
        if expected is not None and field.wire_type != expected:
            return False
    by_number = {field.number: field for field in fields}
    fingerprint = by_number.get(2)
    if fingerprint is None:
        return False
    fingerprint_text = prefix[fingerprint.start : fingerprint.end]
    if b"/" not in fingerprint_text or b":" not in fingerprint_text:
        return False
    pid, tid = by_number.get(5), by_number.get(6)
    return pid is not None and tid is not None and pid.value > 0 and tid.value > 0


def convert_tombstone(body: bytes, received_at: datetime) -> list[pb.CrashReport]:
    """Convert one tombstone (the registry's converter for ``tombstone``)."""
    try:
        tombstone = tombstone_pb.Tombstone.FromString(body)
    except DecodeError:
        raise InvalidPayload("tombstone is not a valid Tombstone protobuf message") from None
    if tombstone.tid == 0:
        raise InvalidPayload("tombstone has no crashing thread id (field tid is missing)")
    if not tombstone.threads and not tombstone.HasField("signal_info"):
        raise InvalidPayload("tombstone has neither threads nor signal information")
    return [tombstone_to_report(tombstone, received_at)]


def tombstone_to_report(tombstone: tombstone_pb.Tombstone, received_at: datetime) -> pb.CrashReport:
    report = pb.CrashReport(source_format=SOURCE_FORMAT, platform=pb.PLATFORM_ANDROID, level=pb.LEVEL_FATAL)
    arch = _ARCHS.get(tombstone.arch, "")
    android.set_timestamp(report, android.parse_timestamp(tombstone.timestamp), received_at)
    android.fill_device_and_os(report, tombstone.build_fingerprint, arch)

    process_name = tombstone.command_line[0] if tombstone.command_line else ""
    report.app.bundle_id = android.package_name(process_name)

    mappings = [_mapping_entry(mapping) for mapping in tombstone.memory_mappings]
    images = android.images_from_mappings(mappings, arch)
    report.images.extend(images)
    resolver = android.ImageResolver(images)

    for thread_id in sorted(tombstone.threads):
        report.threads.append(_convert_thread(tombstone, thread_id, resolver))

    signal = _convert_signal(tombstone.signal_info)
    fault_address = tombstone.signal_info.fault_address if tombstone.signal_info.has_fault_address else None
    if tombstone.HasField("signal_info"):
        report.exceptions.append(
            android.signal_exception(
                signal,
                fault_address=fault_address,
                abort_message=tombstone.abort_message,
                causes=[cause.human_readable for cause in tombstone.causes],
                thread_id=tombstone.tid,
            )
        )
    crashed_name = tombstone.threads[tombstone.tid].name if tombstone.tid in tombstone.threads else ""
    report.message = android.fatal_signal_message(
        signal, fault_address, f"tid {tombstone.tid} ({crashed_name})", " ".join(tombstone.command_line), tombstone.pid
    )
    _add_details(report, tombstone)
    report.breadcrumbs.extend(_log_breadcrumbs(tombstone))
    return report


def _convert_thread(tombstone: tombstone_pb.Tombstone, thread_id: int, resolver: android.ImageResolver) -> pb.Thread:
    source = tombstone.threads[thread_id]
    thread = pb.Thread(id=thread_id, name=source.name)
    thread.crashed = thread.current = thread_id == tombstone.tid
    thread.main = thread_id == tombstone.pid
    for register in source.registers:
        thread.registers[register.name] = register.u64
    frames = [android.native_frame(_frame_entry(frame), resolver) for frame in source.current_backtrace]
    thread.frames.extend(android.trim_frames(frames))
    return thread


def _frame_entry(frame: tombstone_pb.BacktraceFrame) -> android.NativeFrameEntry:
    return android.NativeFrameEntry(
        rel_pc=frame.rel_pc,
        file_name=frame.file_name,
        build_id=frame.build_id,
        function_name=frame.function_name,
        function_offset=frame.function_offset,
        file_map_offset=frame.file_map_offset,
        pc=frame.pc,
    )


def _mapping_entry(mapping: tombstone_pb.MemoryMapping) -> android.MappingEntry:
    return android.MappingEntry(
        begin=mapping.begin_address,
        end=mapping.end_address,
        offset=mapping.offset,
        readable=mapping.read,
        name=mapping.mapping_name,
        build_id=mapping.build_id,
    )


def _convert_signal(signal_info: tombstone_pb.Signal) -> pb.Signal:
    return pb.Signal(
        number=signal_info.number, name=signal_info.name, code=signal_info.code, code_name=signal_info.code_name
    )


def _add_details(report: pb.CrashReport, tombstone: tombstone_pb.Tombstone) -> None:
    """Keep the process facts a reader may search for as tags."""
    if tombstone.process_uptime:
        report.tags["android.process_uptime_seconds"] = str(tombstone.process_uptime)
    if tombstone.revision:
        report.tags["android.revision"] = tombstone.revision
    for detail in tombstone.crash_details:
        name = detail.name.decode("utf-8", "replace")
        if name:
            report.custom_keys[f"crash_detail.{name}"] = detail.data.decode("utf-8", "replace")


def _log_breadcrumbs(tombstone: tombstone_pb.Tombstone) -> list[pb.Breadcrumb]:
    """Convert the logcat lines debuggerd attached into breadcrumbs, keeping the last ``MAX_BREADCRUMBS``.

    The scrub step runs over breadcrumb messages like over any other text.
    """
    crumbs = []
    for buffer in tombstone.log_buffers:
        for line in buffer.logs:
            crumb = pb.Breadcrumb(
                type="debug",
                category=f"logcat.{buffer.name}" if buffer.name else "logcat",
                message=truncate(line.message, MAX_BREADCRUMB_VALUE_CHARS),
                level=_LOG_LEVELS.get(line.priority, pb.LEVEL_UNSPECIFIED),
            )
            crumb.data["tag"] = truncate(line.tag, MAX_BREADCRUMB_VALUE_CHARS)
            crumb.data["pid"] = str(line.pid)
            crumb.data["tid"] = str(line.tid)
            moment = android.parse_log_time(line.timestamp, tombstone.timestamp)
            if moment is not None:
                crumb.timestamp.FromDatetime(moment)
            crumbs.append(crumb)
    return crumbs[-MAX_BREADCRUMBS:]

