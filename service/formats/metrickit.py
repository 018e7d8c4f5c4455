"""Convert MetricKit diagnostic payloads (``MXDiagnosticPayload``) into CrashReports.

The input is the JSON that ``MXDiagnosticPayload.jsonRepresentation()``
writes (``timeStampBegin``, ``timeStampEnd`` and one list per diagnostic
kind), a JSON array of such payloads (as an app collects the array that
``didReceive(_:)`` hands it), or a single diagnostic object. Every diagnostic
becomes one report: crash diagnostics are fatal crashes, and hang, CPU
exception and disk-write exception diagnostics are handled reports whose
issue types are ``hang``, ``cpu`` and ``disk_write``. App launch diagnostics
are not converted.

Call stack trees. Each entry of ``callStacks`` is a thread (when
``callStackPerThread`` is true) and ``threadAttributed`` marks the crashed or
hanging thread. A root frame is the innermost frame and its ``subFrames``
are its callers. Crash diagnostics give one chain per thread. Sampled trees
(hang, CPU and disk-write diagnostics) can branch: a frame then has several
callers, with ``sampleCount`` saying how often each was seen. The flattened
stack follows the most sampled caller at every step (the first one on a tie)
and a note counts the branches left out. A call stack with several root
frames gives one thread per root.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from service.formats.apple_common import (
    KEY_TERMINATION_REASON,
    KEY_VM_REGION_INFO,
    MECHANISM_NSEXCEPTION,
    CrashCause,
    add_note,
    bad_access_description,
    build_exception,
    debug_id_and_code_id,
    new_report,
    parse_apple_datetime,
    set_app,
    set_custom_key,
    set_device_arch,
    set_os,
    set_timestamp,
    trim_frames,
)
from service.formats.errors import InvalidPayload, UnsupportedReport
from service.formats.json_body import load_json
from service.formats.sentry_values import as_dict, as_list, as_text, parse_int32, parse_int64, parse_uint64
from service.schema import crash_report_pb2 as pb

SOURCE_FORMAT = "metrickit"

CRASH_DIAGNOSTICS = "crashDiagnostics"
HANG_DIAGNOSTICS = "hangDiagnostics"
CPU_DIAGNOSTICS = "cpuExceptionDiagnostics"
DISK_WRITE_DIAGNOSTICS = "diskWriteExceptionDiagnostics"
APP_LAUNCH_DIAGNOSTICS = "appLaunchDiagnostics"

# Mechanism types of the non-fatal diagnostics; service.grouping.issue_type
# maps them to the issue types hang, cpu and disk_write.
MECHANISM_HANG = "mx_hang_diagnostic"
MECHANISM_CPU = "mx_cpu_exception_diagnostic"
MECHANISM_DISK_WRITE = "mx_disk_write_exception_diagnostic"

_SNIFF_BYTES = 4096
_SNIFF_KEYS = (b'"crashDiagnostics"', b'"hangDiagnostics"', b'"cpuExceptionDiagnostics"', b'"diskWriteExceptionDiagnostics"',
               b'"appLaunchDiagnostics"', b'"diagnosticMetaData"', b'"callStackTree"', b'"timeStampBegin"')
# A 64-bit process's images load above its 4 GiB __PAGEZERO, and no __TEXT
# segment is 4 GiB long, so a value this large is a load address, not an offset.
_LOAD_ADDRESS_MINIMUM = 1 << 32
_MAX_TREE_DEPTH = 2048
# virtualMemoryRegionInfo starts with the faulting address: "0 is not in any region." or "0x10 is in 0x0-0x4000;".
_REGION_ADDRESS = re.compile(r"^\s*(0x[0-9a-fA-F]+|\d+) is ")


@dataclass
class _TreeFrame:
    binary_uuid: str
    binary_name: str
    address: int | None
    offset: int | None


@dataclass
class _Binary:
    """One binary of a call stack tree and the (address, offset) pairs its frames give."""

    uuid: str
    name: str
    pairs: list[tuple[int, int]] = field(default_factory=list)


def sniff_metrickit(body: bytes) -> bool:
    head = body[:_SNIFF_BYTES].lstrip()
    return head.startswith((b"{", b"[")) and any(key in head for key in _SNIFF_KEYS)


def convert_metrickit(body: bytes, received_at: datetime) -> list[pb.CrashReport]:
    """Convert one or more MetricKit payloads; the registry's converter for ``metrickit``."""
    data = load_json(body, "MetricKit payload")
    payloads = data if isinstance(data, list) else [data]
    reports: list[pb.CrashReport] = []
    skipped_launches = 0
    for position, payload in enumerate(payloads):
        if not isinstance(payload, dict):
            raise InvalidPayload(f"MetricKit payload [{position}] is not a JSON object")
        if "callStackTree" in payload:
            payload = {CRASH_DIAGNOSTICS: [payload]}
        moment = parse_apple_datetime(as_text(payload.get("timeStampEnd"))) or parse_apple_datetime(
            as_text(payload.get("timeStampBegin"))
        )
        for kind in (CRASH_DIAGNOSTICS, HANG_DIAGNOSTICS, CPU_DIAGNOSTICS, DISK_WRITE_DIAGNOSTICS):
            for diagnostic in as_list(payload.get(kind)):
                if not isinstance(diagnostic, dict):
                    raise InvalidPayload(f"an entry of {kind} in MetricKit payload [{position}] is not an object")
                report = _convert_diagnostic(kind, diagnostic, received_at)
                set_timestamp(report, moment)
                reports.append(report)
        skipped_launches += len(as_list(payload.get(APP_LAUNCH_DIAGNOSTICS)))
    if not reports and skipped_launches:
        raise UnsupportedReport("the MetricKit payload contains only app launch diagnostics, which are not converted")
    if not reports:
        raise InvalidPayload("the MetricKit payload contains no crash, hang, CPU exception or disk-write exception diagnostic")
    return reports


def _convert_diagnostic(kind: str, diagnostic: dict[str, Any], received_at: datetime) -> pb.CrashReport:
    report = new_report(SOURCE_FORMAT, received_at)
    metadata = as_dict(diagnostic.get("diagnosticMetaData"))
    _set_environment(report, metadata)
    threads = convert_call_stack_tree(as_dict(diagnostic.get("callStackTree")), report, as_text(metadata.get("platformArchitecture")))
    attributed = next((thread.id for thread in threads if thread.crashed), None)
    if kind == CRASH_DIAGNOSTICS:
        report.exceptions.append(build_exception(_crash_cause(metadata, attributed)))
        set_custom_key(report, KEY_TERMINATION_REASON, as_text(metadata.get("terminationReason")))
        set_custom_key(report, KEY_VM_REGION_INFO, as_text(metadata.get("virtualMemoryRegionInfo")))
    else:
        report.level = pb.LEVEL_WARNING
        report.exceptions.append(_non_fatal_exception(kind, metadata, attributed))
    report.threads.extend(threads)
    return report


def _set_environment(report: pb.CrashReport, metadata: dict[str, Any]) -> None:
    set_app(
        report,
        as_text(metadata.get("bundleIdentifier")),
        "",
        as_text(metadata.get("appVersion")),
        as_text(metadata.get("appBuildVersion")),
    )
    set_os(report, as_text(metadata.get("osVersion")))
    report.device.model = as_text(metadata.get("deviceType"))
    set_device_arch(report, as_text(metadata.get("platformArchitecture")))
    if metadata.get("isTestFlightApp") is True:
        report.app.environment = "testflight"
    region = as_text(metadata.get("regionFormat"))
    if region:
        report.custom_keys["region_format"] = region


def _crash_cause(metadata: dict[str, Any], attributed: int | None) -> CrashCause:
    cause = CrashCause(
        mach_number=parse_int64(metadata.get("exceptionType")) or None,
        code=parse_uint64(metadata.get("exceptionCode")),
        signal_number=parse_int32(metadata.get("signal")) or None,
        termination_reason=as_text(metadata.get("terminationReason")),
        thread_id=attributed,
    )
    region = _REGION_ADDRESS.match(as_text(metadata.get("virtualMemoryRegionInfo")))
    if region:
        cause.fault_address = int(region.group(1), 0)
    cause.code_description = bad_access_description(cause.mach_number, cause.code, cause.fault_address)
    # iOS 17 adds the uncaught Objective-C exception as "objectiveCexceptionReason".
    objc = as_dict(metadata.get("objectiveCexceptionReason")) or as_dict(metadata.get("exceptionReason"))
    if objc:
        cause.exception_name = as_text(objc.get("exceptionName")) or as_text(objc.get("className")) or "NSException"
        cause.exception_reason = as_text(objc.get("composedMessage"))
        cause.exception_mechanism = MECHANISM_NSEXCEPTION
    return cause


def _non_fatal_exception(kind: str, metadata: dict[str, Any], attributed: int | None) -> pb.ExceptionInfo:
    if kind == HANG_DIAGNOSTICS:
        exception = pb.ExceptionInfo(type="App Hang", value=_joined("hang of", metadata.get("hangDuration")))
        mechanism = MECHANISM_HANG
    elif kind == CPU_DIAGNOSTICS:
        cpu_time = as_text(metadata.get("totalCPUTime"))
        sampled = as_text(metadata.get("totalSampledTime"))
        value = ""
        if cpu_time:
            value = f"{cpu_time} of CPU time in {sampled}" if sampled else f"{cpu_time} of CPU time"
        exception = pb.ExceptionInfo(type="CPU Exception", value=value)
        mechanism = MECHANISM_CPU
    else:
        exception = pb.ExceptionInfo(type="Disk Write Exception", value=_joined("wrote", metadata.get("writesCaused")))
        mechanism = MECHANISM_DISK_WRITE
    exception.mechanism.type = mechanism
    exception.mechanism.handled = True
    if attributed is not None:
        exception.thread_id = attributed
    return exception


def _joined(prefix: str, value: Any) -> str:
    text = as_text(value)
    return f"{prefix} {text}" if text else ""


def convert_call_stack_tree(tree: dict[str, Any], report: pb.CrashReport, arch: str) -> list[pb.Thread]:
    """Flatten the call stack tree into threads and add one image per binary to the report."""
    binaries: dict[str, _Binary] = {}
    stacks: list[tuple[bool, list[_TreeFrame]]] = []
    dropped_branches = 0
    for call_stack in as_list(tree.get("callStacks")):
        call_stack = as_dict(call_stack)
        attributed = call_stack.get("threadAttributed") is True
        for root in as_list(call_stack.get("callStackRootFrames")):
            chain, dropped = _follow_heaviest(as_dict(root))
            dropped_branches += dropped
            stacks.append((attributed, chain))
            for frame in chain:
                binary = binaries.setdefault(frame.binary_uuid, _Binary(uuid=frame.binary_uuid, name=frame.binary_name))
                if frame.address is not None and frame.offset is not None:
                    binary.pairs.append((frame.address, frame.offset))
    if dropped_branches:
        add_note(report, f"The call stack tree branches; {dropped_branches} less-sampled caller branches are not shown.")

    load_addresses = {key: _load_address(binary, report) for key, binary in binaries.items()}
    for key, binary in binaries.items():
        debug_id, code_id = debug_id_and_code_id(binary.uuid)
        image = pb.Image(type=pb.IMAGE_TYPE_MACHO, code_file=binary.name, debug_id=debug_id, code_id=code_id, arch=arch)
        image.image_addr = load_addresses[key] or 0
        report.images.append(image)

    threads = []
    attributed_seen = False
    for index, (attributed, chain) in enumerate(stacks):
        crashed = attributed and not attributed_seen
        attributed_seen = attributed_seen or attributed
        thread = pb.Thread(id=index, crashed=crashed, current=crashed)
        frames = [_frame(item, load_addresses.get(item.binary_uuid)) for item in chain]
        thread.frames.extend(trim_frames(frames))
        threads.append(thread)
    return threads


def _follow_heaviest(root: dict[str, Any]) -> tuple[list[_TreeFrame], int]:
    """Return the chain from ``root`` through the most sampled caller at each step, and the branches left out."""
    chain: list[_TreeFrame] = []
    dropped = 0
    frame: dict[str, Any] | None = root
    while frame and len(chain) < _MAX_TREE_DEPTH:
        chain.append(
            _TreeFrame(
                binary_uuid=as_text(frame.get("binaryUUID")),
                binary_name=as_text(frame.get("binaryName")),
                address=parse_uint64(frame.get("address")),
                offset=parse_uint64(frame.get("offsetIntoBinaryTextSegment")),
            )
        )
        callers = [as_dict(caller) for caller in as_list(frame.get("subFrames")) if isinstance(caller, dict)]
        dropped += max(len(callers) - 1, 0)
        frame = max(callers, key=lambda caller: parse_uint64(caller.get("sampleCount")) or 0, default=None)
    return chain, dropped


def _load_address(binary: _Binary, report: pb.CrashReport) -> int | None:
    """Return a binary's load address from its frames' ``address`` and ``offsetIntoBinaryTextSegment``.

    The documented meaning is an offset, so load address = address - offset,
    the same for every frame of the binary. NOTE: iOS 14 and 15 and macOS 12
    write the load address itself into ``offsetIntoBinaryTextSegment`` (all of
    a binary's frames then give one value, at or below every address). That
    is recognised when the value is the same for frames with different
    addresses, or when it is 4 GiB or more. A value above the frame's address
    can be neither, and without a usable pair the binary gets no load address,
    so its frames stay unsymbolicated with a note.
    """
    if not binary.pairs:
        add_note(report, f"Binary {binary.name or binary.uuid}: its frames give no address, so they cannot be symbolicated.")
        return None
    pairs = [(address, value) for address, value in binary.pairs if value <= address]
    if len(pairs) < len(binary.pairs):
        add_note(
            report,
            f"Binary {binary.name or binary.uuid}: {len(binary.pairs) - len(pairs)} frames have an offsetIntoBinaryTextSegment"
            " above their address, which is neither an offset nor a load address, so they were not used.",
        )
    if not pairs:
        return None
    addresses = {address for address, _ in pairs}
    values = {value for _, value in pairs}
    if (len(values) == 1 and len(addresses) > 1) or min(values) >= _LOAD_ADDRESS_MINIMUM:
        candidates = Counter(value for _, value in pairs)
    else:
        candidates = Counter(address - value for address, value in pairs)
    load_address, count = candidates.most_common(1)[0]
    if count < len(pairs):
        add_note(report, f"Binary {binary.name or binary.uuid}: its frames disagree on the load address; the most common one is used.")
    return load_address


# Start address of the dyld shared cache on arm64 iOS and macOS (0x180000000). System
# libraries load from the cache at or above it, and the app's executable and embedded
# frameworks load below it. MetricKit gives binary names but no paths, so the path lists
# that mark in-app images elsewhere cannot tell the app from the system here.
_SHARED_CACHE_START = 0x1_8000_0000


def _frame(item: _TreeFrame, load_address: int | None) -> pb.Frame:
    frame = pb.Frame(package=item.binary_name, platform="native")
    if load_address:
        frame.in_app = load_address < _SHARED_CACHE_START
    if item.address is not None and load_address is not None:
        frame.instruction_addr = item.address
        frame.image_addr = load_address
    elif item.offset is not None and load_address is not None:
        frame.instruction_addr = load_address + item.offset
        frame.image_addr = load_address
    elif item.address is not None:
        frame.instruction_addr = item.address
    return frame
