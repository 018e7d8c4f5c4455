"""Convert an Apple ``.ips`` crash report into a CrashReport.

An ``.ips`` file starts with one line of JSON metadata whose ``bug_type``
gives the kind of report that follows. ``309`` (iOS 15 and macOS 12 onwards) has a JSON body
with ``threads``, ``usedImages``, ``exception``, ``termination``, ``asi``
and ``lastExceptionBacktrace``; a frame's address is
``usedImages[imageIndex].base + imageOffset``. ``109`` has the legacy crash
report text as its body, read by ``service.formats.apple_crash``. Every
other bug type (kernel panics, resets, stackshots, jetsam events) is
rejected with ``UnsupportedReport`` naming the type.

Apple documents the 309 layout in "Interpreting the JSON format of a crash
report" (developer.apple.com/documentation/xcode). iOS 15.0 betas wrote
``usedImages`` as ``[uuid, base]`` lists with the names in
``legacyInfo.imageExtraInfo`` and frames as ``[imageIndex, imageOffset]``;
both layouts are read.

NOTE: frames marked ``"inline": true`` (present when the device symbolicated
them) are dropped, because symbolication rebuilds inlined frames from the
dSYM. Without an uploaded dSYM their names are lost.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from service.formats.apple_common import (
    ADDRESS_MODE_RETURN,
    KEY_APPLICATION_SPECIFIC_INFORMATION,
    KEY_KERNEL_TRIAGE,
    KEY_TERMINATION_REASON,
    KEY_VM_REGION_INFO,
    CrashCause,
    arch_from_code_type,
    build_exception,
    debug_id_and_code_id,
    event_id_from_uuid,
    fault_address_from,
    fill_frame_packages,
    new_report,
    parse_apple_datetime,
    reported_function,
    set_app,
    set_custom_key,
    set_device_arch,
    set_installation_id,
    set_os,
    set_timestamp,
    trim_frames,
    uncaught_exception,
)
from service.formats.apple_crash import text_to_report
from service.formats.errors import InvalidPayload, UnsupportedReport
from service.formats.json_body import load_json
from service.formats.sentry_values import as_dict, as_list, as_text, parse_int64, parse_uint64
from service.schema import crash_report_pb2 as pb

SOURCE_FORMAT = "ips"
BUG_TYPE_CRASH = "309"
BUG_TYPE_LEGACY_CRASH = "109"
# Names for the rejection message. Only types seen in real files are named;
# others are rejected with their number alone.
_OTHER_BUG_TYPES = {"210": "kernel panic", "151": "kernel panic / forced reset"}
_HEADER_SNIFF_BYTES = 4096


def sniff_ips(body: bytes) -> bool:
    first_line = body[:_HEADER_SNIFF_BYTES].lstrip(b"\xef\xbb\xbf \t\r\n").split(b"\n", 1)[0]
    return first_line.startswith(b"{") and first_line.rstrip().endswith(b"}") and b'"bug_type"' in first_line


def convert_ips(body: bytes, received_at: datetime) -> list[pb.CrashReport]:
    """Convert one ``.ips`` file; the registry's converter for ``apple-ips``."""
    text = body.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    header_line, _, rest = text.partition("\n")
    header = load_json(header_line.encode(), "the .ips header line")
    if not isinstance(header, dict):
        raise InvalidPayload("the first line of an .ips file must be a JSON object with a bug_type")
    bug_type = as_text(header.get("bug_type")).strip()
    if bug_type == BUG_TYPE_LEGACY_CRASH:
        return [text_to_report(rest, received_at, ips_header=header, source_format=SOURCE_FORMAT)]
    if bug_type != BUG_TYPE_CRASH:
        raise UnsupportedReport(_unsupported_message(bug_type))
    body_json = load_json(rest.encode(), "the .ips crash report body")
    if not isinstance(body_json, dict):
        raise InvalidPayload("the body of a bug_type 309 .ips file must be a JSON object")
    return [_crash_to_report(header, body_json, received_at)]


def _unsupported_message(bug_type: str) -> str:
    if not bug_type:
        return "the .ips header has no bug_type, so it is not an app crash report (only bug_type 309 and 109 are converted)"
    kind = _OTHER_BUG_TYPES.get(bug_type)
    described = f"bug_type {bug_type} ({kind})" if kind else f"bug_type {bug_type}"
    return f"{described} is not an app crash report; only bug_type 309 and 109 are converted"


def _crash_to_report(header: dict[str, Any], body: dict[str, Any], received_at: datetime) -> pb.CrashReport:
    report = new_report(SOURCE_FORMAT, received_at)
    report.event_id = event_id_from_uuid(as_text(header.get("incident_id")) or as_text(body.get("incident")))
    set_timestamp(report, parse_apple_datetime(as_text(body.get("captureTime")) or as_text(header.get("timestamp"))))
    set_installation_id(report, as_text(body.get("crashReporterKey")))
    _set_environment(report, header, body)

    images = _ImageTable(body)
    report.images.extend(image for image in images.images if image is not None)
    faulting = parse_int64(body.get("faultingThread"))
    for index, raw_thread in enumerate(as_list(body.get("threads"))):
        report.threads.append(_convert_thread(index, as_dict(raw_thread), images, faulting))
    crashed = next((thread.id for thread in report.threads if thread.crashed), faulting)

    cause = _crash_cause(body, images, crashed)
    report.exceptions.append(build_exception(cause))
    set_custom_key(report, KEY_TERMINATION_REASON, cause.termination_reason)
    set_custom_key(report, KEY_APPLICATION_SPECIFIC_INFORMATION, "\n".join(_application_specific_lines(body)))
    set_custom_key(report, KEY_KERNEL_TRIAGE, "\n".join(as_text(line) for line in as_list(body.get("ktriageinfo"))))
    set_custom_key(report, KEY_VM_REGION_INFO, as_text(body.get("vmRegionInfo")))
    fill_frame_packages(report)
    return report


def _set_environment(report: pb.CrashReport, header: dict[str, Any], body: dict[str, Any]) -> None:
    bundle = as_dict(body.get("bundleInfo"))
    set_app(
        report,
        as_text(bundle.get("CFBundleIdentifier")) or as_text(header.get("bundleID")),
        as_text(header.get("app_name")) or as_text(body.get("procName")),
        as_text(bundle.get("CFBundleShortVersionString")) or as_text(header.get("app_version")),
        as_text(bundle.get("CFBundleVersion")) or as_text(header.get("build_version")),
    )
    role = as_text(body.get("procRole")).lower()
    if role in ("foreground", "background"):
        report.app.in_foreground = role == "foreground"
    os_version = as_dict(body.get("osVersion"))
    set_os(report, as_text(os_version.get("train")) or as_text(header.get("os_version")), as_text(os_version.get("build")))
    report.device.model = as_text(body.get("modelCode"))
    set_device_arch(report, arch_from_code_type(as_text(body.get("cpuType"))))


class _ImageTable:
    """``usedImages`` by index: the Image for each, or ``None`` for an entry that is no real image."""

    def __init__(self, body: dict[str, Any]) -> None:
        extra_info = as_list(as_dict(body.get("legacyInfo")).get("imageExtraInfo"))
        self.bases: list[int] = []
        self.images: list[pb.Image | None] = []
        for index, raw in enumerate(as_list(body.get("usedImages"))):
            fields = _image_fields(raw, as_dict(extra_info[index]) if index < len(extra_info) else {})
            base = parse_uint64(fields.get("base")) or 0
            self.bases.append(base)
            self.images.append(_convert_image(fields, base))

    def address(self, image_index: int | None, offset: int) -> int:
        if image_index is None or not 0 <= image_index < len(self.bases):
            return offset
        return self.bases[image_index] + offset


def _image_fields(raw: Any, extra: dict[str, Any]) -> dict[str, Any]:
    if isinstance(raw, list):
        fields = {"uuid": raw[0] if raw else "", "base": raw[1] if len(raw) > 1 else 0}
        return {**extra, **fields}
    return as_dict(raw)


def _convert_image(fields: dict[str, Any], base: int) -> pb.Image | None:
    debug_id, code_id = debug_id_and_code_id(as_text(fields.get("uuid")))
    path = as_text(fields.get("path")) or as_text(fields.get("name"))
    if not debug_id and not base:
        return None
    return pb.Image(
        type=pb.IMAGE_TYPE_MACHO,
        code_file=path,
        debug_id=debug_id,
        code_id=code_id,
        image_addr=base,
        image_size=parse_uint64(fields.get("size")) or 0,
        arch=as_text(fields.get("arch")),
    )


def _convert_thread(index: int, raw: dict[str, Any], images: _ImageTable, faulting: int | None) -> pb.Thread:
    crashed = raw.get("triggered") is True or index == faulting
    thread = pb.Thread(
        id=index, name=as_text(raw.get("name")), queue=as_text(raw.get("queue")), crashed=crashed, current=crashed, main=index == 0
    )
    thread.frames.extend(trim_frames(_convert_frames(raw.get("frames"), images)))
    for name, value in _registers(as_dict(raw.get("threadState"))).items():
        thread.registers[name] = value
    return thread


def _convert_frames(raw_frames: Any, images: _ImageTable) -> list[pb.Frame]:
    frames = []
    for raw in as_list(raw_frames):
        if isinstance(raw, list):
            raw = {"imageIndex": raw[0] if raw else None, "imageOffset": raw[1] if len(raw) > 1 else 0}
        if not isinstance(raw, dict) or raw.get("inline") is True:
            continue
        image_index = parse_int64(raw.get("imageIndex"))
        address = images.address(image_index, parse_uint64(raw.get("imageOffset")) or 0)
        frame = pb.Frame(instruction_addr=address, platform="native", function=reported_function(as_text(raw.get("symbol"))))
        location = parse_uint64(raw.get("symbolLocation"))
        if frame.function and location is not None and location <= address:
            frame.symbol_addr = address - location
        source_file = as_text(raw.get("sourceFile"))
        if source_file:
            frame.filename = source_file.rsplit("/", 1)[-1]
            frame.abs_path = source_file if "/" in source_file else ""
            frame.lineno = parse_uint64(raw.get("sourceLine")) or 0
        frames.append(frame)
    return frames


def _registers(state: dict[str, Any]) -> dict[str, int]:
    """Read ``threadState``: ARM's ``x`` list (x0…x28), then named registers such as ``pc`` or ``rip``."""
    registers: dict[str, int] = {}
    for position, entry in enumerate(as_list(state.get("x"))):
        value = parse_uint64(as_dict(entry).get("value"))
        if value is not None:
            registers[f"x{position}"] = value
    for name, entry in state.items():
        value = parse_uint64(as_dict(entry).get("value"))
        if name != "x" and value is not None:
            registers[name] = value
    return registers


def _crash_cause(body: dict[str, Any], images: _ImageTable, crashed: int | None) -> CrashCause:
    exception = as_dict(body.get("exception"))
    raw_codes = [parse_uint64(code) for code in as_list(exception.get("rawCodes"))]
    cause = CrashCause(
        mach_name=as_text(exception.get("type")),
        signal_name=as_text(exception.get("signal")),
        code=raw_codes[0] if raw_codes else None,
        subcode=raw_codes[1] if len(raw_codes) > 1 else None,
        code_description=as_text(exception.get("subtype")),
        message=as_text(exception.get("message")),
        termination_reason=_termination_reason(as_dict(body.get("termination"))),
        thread_id=crashed,
    )
    cause.fault_address = fault_address_from(cause.code_description)
    backtrace = _convert_frames(body.get("lastExceptionBacktrace"), images)
    for frame in backtrace:
        frame.address_mode = ADDRESS_MODE_RETURN
    cause.frames = trim_frames(backtrace)
    cause.exception_name, cause.exception_reason = uncaught_exception(_application_specific_lines(body))
    if not cause.exception_name and backtrace:
        cause.exception_name = "NSException"
    return cause


def _termination_reason(termination: dict[str, Any]) -> str:
    """Render ``termination`` as Apple's text does: ``Namespace SIGNAL, Code 11 Segmentation fault: 11``."""
    if not termination:
        return ""
    parts = []
    namespace = as_text(termination.get("namespace"))
    code = parse_uint64(termination.get("code"))
    if namespace:
        parts.append(f"Namespace {namespace}" + (f", Code {code:#x}" if code is not None else ""))
    indicator = as_text(termination.get("indicator"))
    if indicator:
        parts.append(indicator)
    text = " ".join(parts)
    reasons = [as_text(reason) for reason in as_list(termination.get("reasons")) if as_text(reason)]
    details = [as_text(detail) for detail in as_list(termination.get("details")) if as_text(detail)]
    return "\n".join([text, *reasons, *details]).strip()


def _application_specific_lines(body: dict[str, Any]) -> list[str]:
    """Read ``asi``: ``{"libsystem_c.dylib": ["abort() called"]}`` becomes ``libsystem_c.dylib: abort() called``."""
    lines = []
    for image, messages in as_dict(body.get("asi")).items():
        for message in as_list(messages) if isinstance(messages, list) else [messages]:
            text = as_text(message).strip()
            if text:
                lines.append(f"{image}: {text}")
    return lines
