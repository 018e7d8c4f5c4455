"""Convert a legacy Apple crash report (the ``.crash`` text) into a CrashReport.

The text is what Xcode, the Console app and KSCrash's Apple-format sink write,
and what the body of a ``bug_type 109`` ``.ips`` file holds. It is read in
sections: the header (``Key: value`` lines), ``Application Specific
Information``, ``Last Exception Backtrace`` (or macOS's ``Application
Specific Backtrace 1``), one block per thread, the crashed thread's
registers, and ``Binary Images``. Anything after the image list (KSCrash's
"Extra Information", system logs after ``EOF``) is ignored.

NOTE: frames that Xcode marks ``[inlined]`` are dropped: they repeat the
address of the next frame, and symbolication rebuilds the inlined frames
from the dSYM. Without an uploaded dSYM the inlined function names are lost.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from service.formats.apple_common import (
    ADDRESS_MODE_RETURN,
    KERN_CODE_NUMBERS,
    KEY_APPLICATION_SPECIFIC_INFORMATION,
    KEY_EXCEPTION_NOTE,
    KEY_KERNEL_TRIAGE,
    KEY_TERMINATION_REASON,
    MACH_EXCEPTION_NUMBERS,
    CrashCause,
    add_note,
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
from service.formats.errors import InvalidPayload
from service.schema import crash_report_pb2 as pb

SOURCE_FORMAT = "crash"

_SNIFF_BYTES = 2048
_SNIFF_KEYS = re.compile(
    rb"^(Incident Identifier|Process|Hardware Model|Code Type|Exception Type|OS Version|Crashed Thread|Triggered by Thread):",
    re.MULTILINE,
)

_THREAD_HEADER = re.compile(r"^Thread (\d+)( Crashed)?::?\s*(.*)$")
_THREAD_NAME = re.compile(r"^Thread (\d+) name:\s*(.*)$")
_THREAD_STATE = re.compile(r"^Thread (\d+) crashed with .*Thread State.*:$")
_BACKTRACE_HEADER = re.compile(r"^(Last Exception Backtrace|Application Specific Backtrace \d+):$")
_FRAME = re.compile(r"^(\d+)\s+(.+?)\s+(0x[0-9a-fA-F]+)\s+(.*)$")
_IMAGE_RELATIVE = re.compile(r"^(0x[0-9a-fA-F]+|\d+) \+ (\d+)(?:\s+\((.*)\))?$")
_SOURCE_LOCATION = re.compile(r"\s\(([^()]+?):(\d+)(?::\d+)?\)$")
_REGISTER = re.compile(r"\b([a-z][a-z0-9]*):\s*(0x[0-9a-fA-F]+)")
# KSCrash writes "<(null)>" for an image without LC_UUID (jailbreak tweaks), which must not end the list.
_IMAGE = re.compile(r"^\s*(0x[0-9a-fA-F]+)\s*-\s*(0x[0-9a-fA-F]+)\s+(.*?)\s*<([0-9a-fA-F-]{32,36}|\(null\))>\s*(.*)$")
_HEADER_FIELD = re.compile(r"^([A-Z][A-Za-z0-9/ ._-]*?):\s*(.*)$")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]+")
_VERSION_PAIR = re.compile(r"^(.*?)\s*\((.*)\)$")
_EXCEPTION_TYPE = re.compile(r"^(\S+)(?:\s*\((\S+)\))?")
_FIRST_NUMBER = re.compile(r"\d+")
_IMAGE_ARCHES = {"arm64", "arm64e", "arm64_32", "armv6", "armv7", "armv7s", "armv7k", "armv7f", "armv8",
                 "x86_64", "x86_64h", "i386"}
# Header blocks whose lines up to the next blank line belong to one key.
_BLOCK_KEYS = {"Application Specific Information": KEY_APPLICATION_SPECIFIC_INFORMATION, "Kernel Triage": KEY_KERNEL_TRIAGE}
# KSCrash's Apple-format sink writes this line, not an exception type, for a deadlocked main thread.
KSCRASH_DEADLOCK_LINE = "Application main thread deadlocked"
DEADLOCK_TYPE = "Deadlock"
_UNKNOWN = {"", "???"}


@dataclass
class _TextThread:
    index: int
    name: str = ""
    queue: str = ""
    crashed: bool = False
    frames: list[pb.Frame] = field(default_factory=list)


@dataclass
class _ParsedText:
    fields: dict[str, str] = field(default_factory=dict)
    blocks: dict[str, list[str]] = field(default_factory=dict)
    loose_lines: list[str] = field(default_factory=list)
    threads: dict[int, _TextThread] = field(default_factory=dict)
    registers: dict[int, dict[str, int]] = field(default_factory=dict)
    exception_frames: list[pb.Frame] = field(default_factory=list)
    has_exception_backtrace: bool = False
    images: list[pb.Image] = field(default_factory=list)

    def thread(self, index: int) -> _TextThread:
        return self.threads.setdefault(index, _TextThread(index=index))


def sniff_crash_text(body: bytes) -> bool:
    head = body[:_SNIFF_BYTES].lstrip(b"\xef\xbb\xbf \t\r\n")
    return not head.startswith((b"{", b"[")) and len(set(_SNIFF_KEYS.findall(head))) >= 2


def convert_crash_text(body: bytes, received_at: datetime) -> list[pb.CrashReport]:
    """Convert one ``.crash`` text; the registry's converter for ``apple-crash``."""
    text = body.decode("utf-8", errors="replace").lstrip("\ufeff")
    return [text_to_report(text, received_at)]


def text_to_report(
    text: str, received_at: datetime, ips_header: dict[str, Any] | None = None, source_format: str = SOURCE_FORMAT
) -> pb.CrashReport:
    """Convert crash report text; ``ips_header`` is the JSON first line of a ``bug_type 109`` file."""
    parsed = _parse(text)
    if not parsed.threads and "Exception Type" not in parsed.fields and not parsed.images:
        raise InvalidPayload("the text has none of the sections of an Apple crash report (Exception Type, Thread N, Binary Images)")
    report = new_report(source_format, received_at)
    header = ips_header or {}
    _set_identity(report, parsed.fields, header)
    _set_environment(report, parsed.fields, header)
    report.images.extend(parsed.images)
    _add_threads(report, parsed)
    _add_exception(report, parsed)
    fill_frame_packages(report)
    return report


def _parse(text: str) -> _ParsedText:
    parsed = _ParsedText()
    state = "header"
    block_key = ""
    current: _TextThread | None = None
    register_thread = -1
    for raw_line in text.splitlines():
        line = raw_line.rstrip()
        if state == "done":
            break
        if not line:
            if state == "images" and parsed.images:
                state = "done"
            elif state in ("block", "thread", "registers", "backtrace"):
                state = "between" if parsed.threads or state != "block" else "header"
            continue
        if line == "Binary Images:":
            state = "images"
            continue
        if state == "images":
            image = _parse_image(line)
            if image is not None:
                parsed.images.append(image)
            elif parsed.images:
                state = "done"
            continue
        if match := _THREAD_NAME.match(line):
            _set_thread_name(parsed.thread(int(match.group(1))), match.group(2))
            continue
        if match := _THREAD_STATE.match(line):
            state, register_thread = "registers", int(match.group(1))
            parsed.registers.setdefault(register_thread, {})
            continue
        if match := _THREAD_HEADER.match(line):
            current = parsed.thread(int(match.group(1)))
            current.crashed = current.crashed or bool(match.group(2))
            if match.group(3):
                _set_thread_name(current, match.group(3))
            state = "thread"
            continue
        if _BACKTRACE_HEADER.match(line):
            state = "backtrace"
            parsed.has_exception_backtrace = True
            continue
        if state == "thread" and current is not None:
            frame = _parse_frame(line)
            if frame is not None and not frame.inlined:
                current.frames.append(frame)
            continue
        if state == "registers":
            for name, value in _REGISTER.findall(line):
                parsed.registers[register_thread][name] = int(value, 16)
            continue
        if state == "backtrace":
            _add_backtrace_line(parsed, line)
            continue
        if state == "block":
            parsed.blocks[block_key].append(line.strip())
            continue
        if state == "header":
            block_key = _read_header_line(parsed, line)
            if block_key:
                state = "block"
    return parsed


def _read_header_line(parsed: _ParsedText, line: str) -> str:
    """Store one header line; return the block key when the line opens a multi-line block."""
    match = _HEADER_FIELD.match(line)
    if not match:
        parsed.loose_lines.append(line.strip())
        return ""
    key, value = match.group(1), match.group(2).strip()
    if key in _BLOCK_KEYS and not value:
        parsed.blocks.setdefault(key, [])
        return key
    parsed.fields.setdefault(key, value)
    return ""


def _set_thread_name(thread: _TextThread, text: str) -> None:
    text = text.strip()
    if text.startswith("Dispatch queue:"):
        thread.queue = text.removeprefix("Dispatch queue:").strip()
    elif text:
        thread.name = text


def _add_backtrace_line(parsed: _ParsedText, line: str) -> None:
    """Read a backtrace frame, or the ``(0x1 0x2 ...)`` address list that unsymbolicated reports print."""
    frame = _parse_frame(line)
    if frame is not None:
        if not frame.inlined:
            frame.address_mode = ADDRESS_MODE_RETURN
            parsed.exception_frames.append(frame)
        return
    if line.lstrip().startswith("("):
        for address in _ADDRESS.findall(line):
            parsed.exception_frames.append(
                pb.Frame(instruction_addr=int(address, 16), platform="native", address_mode=ADDRESS_MODE_RETURN)
            )


def _parse_frame(line: str) -> pb.Frame | None:
    """Read ``0  UIKitCore  0x1a0c3e4f0 0x19f667000 + 22902000`` or its symbolicated forms."""
    match = _FRAME.match(line.strip())
    if not match:
        return None
    image_name, address, rest = match.group(2).strip(), int(match.group(3), 16), match.group(4).strip()
    frame = pb.Frame(instruction_addr=address, platform="native")
    if image_name not in _UNKNOWN:
        frame.package = image_name
    symbol = rest
    relative = _IMAGE_RELATIVE.match(rest)
    if relative:
        base = int(relative.group(1), 0)
        if base and image_name not in _UNKNOWN:
            frame.image_addr = base
        symbol = relative.group(3) or ""
    _set_symbol(frame, symbol)
    return frame


def _set_symbol(frame: pb.Frame, text: str) -> None:
    """Read ``name + offset``, optionally followed by ``(File.swift:12)`` and ``[inlined]``."""
    text = text.strip()
    if text.endswith("[inlined]"):
        frame.inlined = True
        text = text.removesuffix("[inlined]").rstrip()
    location = _SOURCE_LOCATION.search(text)
    if location:
        frame.filename = location.group(1).rsplit("/", 1)[-1]
        if "/" in location.group(1):
            frame.abs_path = location.group(1)
        frame.lineno = int(location.group(2))
        text = text[: location.start()].rstrip()
    name, separator, offset = text.rpartition(" + ")
    if separator and offset.isdigit():
        frame.symbol_addr = max(frame.instruction_addr - int(offset), 0)
        text = name
    frame.function = reported_function(text)


def _parse_image(line: str) -> pb.Image | None:
    match = _IMAGE.match(line)
    if not match:
        return None
    start, end = int(match.group(1), 16), int(match.group(2), 16)
    name, arch = _image_name_and_arch(match.group(3))
    path = match.group(5).strip()
    debug_id, code_id = debug_id_and_code_id(match.group(4)) if match.group(4) != "(null)" else ("", "")
    image = pb.Image(type=pb.IMAGE_TYPE_MACHO, debug_id=debug_id, code_id=code_id, arch=arch)
    image.code_file = path if path not in _UNKNOWN else name
    image.image_addr = start
    image.image_size = end - start + 1 if end >= start else 0
    return image


def _image_name_and_arch(text: str) -> tuple[str, str]:
    """Split ``+Crash-Tester armv7`` or macOS's ``com.apple.AppKit (6.9 - 2022.44.149)``."""
    text = text.strip().lstrip("+").strip()
    name, _, last = text.rpartition(" ")
    if last in _IMAGE_ARCHES:
        return name.strip(), last
    if " (" in text:
        return text[: text.index(" (")].strip(), ""
    return text, ""


def _set_identity(report: pb.CrashReport, fields: dict[str, str], header: dict[str, Any]) -> None:
    report.event_id = event_id_from_uuid(str(header.get("incident_id") or fields.get("Incident Identifier", "")))
    moment = parse_apple_datetime(fields.get("Date/Time", "")) or parse_apple_datetime(str(header.get("timestamp") or ""))
    set_timestamp(report, moment)
    if moment is None and fields.get("Date/Time"):
        add_note(report, "The Date/Time field is not a date, so the time the report was received is used instead.")
    set_installation_id(report, fields.get("CrashReporter Key", ""))


def _set_environment(report: pb.CrashReport, fields: dict[str, str], header: dict[str, Any]) -> None:
    set_os(report, str(header.get("os_version") or fields.get("OS Version", "")))
    report.device.model = fields.get("Hardware Model", "")
    report.device.model_id = fields.get("Device Model", "") if fields.get("Device Model") != report.device.model else ""
    arch = arch_from_code_type(fields.get("Code Type", ""))
    set_device_arch(report, arch)

    version, build = _split_version(fields.get("Version", ""), report.os.name)
    process_name = fields.get("Process", "").split("[")[0].strip()
    set_app(
        report,
        str(header.get("bundleID") or fields.get("Identifier", "")),
        str(header.get("app_name") or process_name),
        str(header.get("app_version") or version),
        str(header.get("build_version") or build),
    )
    role = fields.get("Role", "").lower()
    if role in ("foreground", "background"):
        report.app.in_foreground = role == "foreground"


def _split_version(text: str, os_name: str) -> tuple[str, str]:
    """Return (version, build) from the ``Version`` field.

    NOTE: iOS reports write ``CFBundleVersion (CFBundleShortVersionString)``,
    e.g. ``1 (1.0)``, while macOS reports write ``1.8.3 (64)``, the other way
    round. The OS name decides; a ``.ips`` header, when there is one, wins.
    """
    match = _VERSION_PAIR.match(text.strip())
    if not match:
        value = "" if text.strip() in _UNKNOWN else text.strip()
        return value, ""
    first, second = match.group(1).strip(), match.group(2).strip()
    if os_name == "macOS":
        return first, second
    return second, first


def _add_threads(report: pb.CrashReport, parsed: _ParsedText) -> None:
    for index in sorted(parsed.threads):
        source = parsed.threads[index]
        thread = report.threads.add(id=index, name=source.name, queue=source.queue, crashed=source.crashed, main=index == 0)
        frames = trim_frames(source.frames)
        thread.frames.extend(frames)
        if len(frames) < len(source.frames):
            add_note(report, f"Thread {index} has {len(source.frames)} frames; only the innermost and outermost {len(frames)} are kept.")
        for name, value in parsed.registers.get(index, {}).items():
            thread.registers[name] = value
    crashed = _crashed_thread_index(parsed)
    for thread in report.threads:
        if thread.id == crashed:
            thread.crashed = True
            thread.current = True


def _crashed_thread_index(parsed: _ParsedText) -> int | None:
    for key in ("Triggered by Thread", "Crashed Thread"):
        match = _FIRST_NUMBER.match(parsed.fields.get(key, "").strip())
        if match:
            return int(match.group())
    for thread in parsed.threads.values():
        if thread.crashed:
            return thread.index
    return None


def _add_exception(report: pb.CrashReport, parsed: _ParsedText) -> None:
    fields = parsed.fields
    cause = CrashCause(thread_id=_crashed_thread_index(parsed), frames=parsed.exception_frames)
    _read_exception_type(cause, fields.get("Exception Type", ""))
    _read_exception_codes(cause, fields.get("Exception Codes", ""))
    subtype = fields.get("Exception Subtype", "")
    if subtype:
        cause.code_description = subtype
        cause.fault_address = fault_address_from(subtype)
    cause.message = fields.get("Exception Message", "")
    cause.termination_reason = _termination_reason(fields)

    application_info = parsed.blocks.get("Application Specific Information", []) + parsed.loose_lines
    cause.exception_name, cause.exception_reason = uncaught_exception(application_info)
    if not cause.exception_name and (parsed.has_exception_backtrace or fields.get("Exception Reason")):
        cause.exception_name = "NSException"
        cause.exception_reason = fields.get("Exception Reason", "")
    if not cause.mach_name and not cause.signal_name and KSCRASH_DEADLOCK_LINE in application_info:
        cause.exception_name, cause.exception_reason, cause.exception_mechanism = DEADLOCK_TYPE, KSCRASH_DEADLOCK_LINE, "deadlock"

    if cause.mach_name or cause.signal_name or cause.exception_name:
        report.exceptions.append(build_exception(cause))
    set_custom_key(report, KEY_TERMINATION_REASON, cause.termination_reason)
    set_custom_key(report, KEY_APPLICATION_SPECIFIC_INFORMATION, "\n".join(application_info))
    set_custom_key(report, KEY_KERNEL_TRIAGE, "\n".join(parsed.blocks.get("Kernel Triage", [])))
    set_custom_key(report, KEY_EXCEPTION_NOTE, fields.get("Exception Note", ""))


def _read_exception_type(cause: CrashCause, text: str) -> None:
    """Read ``EXC_BAD_ACCESS (SIGSEGV)``; KSCrash writes ``0 (0)`` when there was no Mach exception."""
    match = _EXCEPTION_TYPE.match(text.strip())
    if not match:
        return
    name, signal = match.group(1), match.group(2) or ""
    if name in MACH_EXCEPTION_NUMBERS:
        cause.mach_name = name
    elif name.startswith("SIG"):
        signal = signal or name
    if signal.startswith("SIG"):
        cause.signal_name = signal


def _read_exception_codes(cause: CrashCause, text: str) -> None:
    """Read ``0x1, 0x0``, ``KERN_INVALID_ADDRESS at 0xffffffff`` or KSCrash's ``0x00000000 at 0x00000000``."""
    text = text.strip()
    if not text:
        return
    if " at " in text:
        code_text, _, address_text = text.partition(" at ")
        code_text = code_text.strip()
        cause.code = int(code_text, 16) if code_text.startswith("0x") else KERN_CODE_NUMBERS.get(code_text)
        cause.fault_address = fault_address_from(text)
        cause.subcode = cause.fault_address
        if not code_text.startswith("0x"):
            cause.code_description = cause.code_description or text
        return
    numbers = [int(value, 16) for value in _ADDRESS.findall(text)]
    if numbers:
        cause.code = numbers[0]
    if len(numbers) > 1:
        cause.subcode = numbers[1]


def _termination_reason(fields: dict[str, str]) -> str:
    parts = [fields.get("Termination Reason", ""), fields.get("Termination Description", "")]
    if not parts[0] and fields.get("Termination Signal"):
        parts[0] = fields["Termination Signal"]
    return "\n".join(part for part in parts if part)
