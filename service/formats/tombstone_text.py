"""Convert a text tombstone, as debuggerd writes it to /data/tombstones and to logcat, into a CrashReport.

The text starts with a line of ``*** *** ***`` and lists the build
fingerprint, ABI, the crashing thread (``pid: 1, tid: 1, name: ...``), the
signal, registers and ``backtrace:``, then a memory map and the other
threads after ``--- --- ---`` separators. Logcat shows only the crashing
thread, with a prefix on every line (``11-24 16:26:18.123  1234  1234 F DEBUG   : ``),
which is removed. Only the first crash in the text is converted.

Backtrace lines give ``rel_pc``, the address inside each file. With a memory
map the images get their real load addresses. Without one (logcat), each
image gets a placeholder address, and a note on the report explains this.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from service.formats import android_common as android
from service.formats.errors import InvalidPayload
from service.formats.sentry_breadcrumbs import MAX_BREADCRUMB_VALUE_CHARS, MAX_BREADCRUMBS
from service.formats.sentry_values import truncate
from service.schema import crash_report_pb2 as pb

SOURCE_FORMAT = "tombstone"
PARSE_STEP = "parse"

_SNIFF_BYTES = 64 * 1024
_HEADER = re.compile(r"^\*\*\* \*\*\* \*\*\*(?: \*\*\*)*\s*$")
_THREAD_SEPARATOR = re.compile(r"^--- --- ---(?: ---)*\s*$")
_THREAD_HEADER = re.compile(r"^pid: (?P<pid>\d+), tid: (?P<tid>\d+), name: (?P<name>.*?)\s+>>> (?P<process>.*) <<<\s*$")
_SIGNAL = re.compile(
    r"^signal (?P<number>-?\d+) \((?P<name>[^)]*)\), code (?P<code>-?\d+) \((?P<code_name>[^),]*?)"
    r"(?: from pid \d+, uid \d+)?\), fault addr (?P<address>0x[0-9a-fA-F]+|-+)"
)
_QUOTED_FIELD = re.compile(r"^(?P<key>Build fingerprint|Revision|ABI|Abort message): '(?P<value>.*)'\s*$")
_PLAIN_FIELD = re.compile(r"^(?P<key>Timestamp|Cmdline|Cause|Process uptime): (?P<value>.*?)\s*$")
_REGISTER_ROW = re.compile(r"^\s+(?:[a-z][a-z0-9]*\s+[0-9a-f]{8,16}\s*)+$")
_REGISTER = re.compile(r"([a-z][a-z0-9]*)\s+([0-9a-f]{8,16})")
_MEMORY_MAP_LINE = re.compile(
    r"^(?:--->|\s+)(?P<begin>[0-9a-f']+)-(?P<end>[0-9a-f']+) (?P<perms>[r-][w-][x-])\s+"
    r"(?P<offset>[0-9a-f]+)\s+(?P<size>[0-9a-f]+)(?:\s+(?P<rest>.*))?$"
)
_MAP_SUFFIX = re.compile(r"\s*\((?:BuildId: (?P<build_id>[0-9a-fA-F]*)|load bias 0x[0-9a-fA-F]+)\)$")
_LOG_SECTION = re.compile(r"^--------- (?:tail end of )?log (?P<name>\S+)")
_LOG_LINE = re.compile(
    r"^(?P<time>\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3})\s+(?P<pid>\d+)\s+(?P<tid>\d+)\s+"
    r"(?P<priority>[VDIWEFS!.?])\s+(?P<tag>.*?)\s*: (?P<message>.*)$"
)
_LOG_LEVELS = {"V": pb.LEVEL_DEBUG, "D": pb.LEVEL_DEBUG, "I": pb.LEVEL_INFO, "W": pb.LEVEL_WARNING,
               "E": pb.LEVEL_ERROR, "F": pb.LEVEL_FATAL}

# Logcat prefixes: "threadtime" (the default of `adb logcat`, optionally with
# the year) and "brief" ("F/DEBUG   ( 1234): ").
_THREADTIME_PREFIX = re.compile(
    r"^(?:\d{4}-)?\d{2}-\d{2}\s+\d{2}:\d{2}:\d{2}\.\d+\s+\d+\s+\d+\s+[VDIWEFA]\s+(?P<tag>[^:]*?)\s*: ?(?P<content>.*)$"
)
_BRIEF_PREFIX = re.compile(r"^[VDIWEFA]/(?P<tag>[^(]*?)\s*\(\s*\d+\): ?(?P<content>.*)$")
# Tags under which crash_dump writes the tombstone to logcat.
_TOMBSTONE_TAGS = ("DEBUG", "crash_dump", "crash_dump32", "crash_dump64")


@dataclass
class _Thread:
    tid: int
    name: str
    registers: dict[str, int] = field(default_factory=dict)
    frames: list[android.NativeFrameEntry] = field(default_factory=list)


@dataclass
class _Tombstone:
    fields: dict[str, str] = field(default_factory=dict)
    pid: int = 0
    process: str = ""
    signal: pb.Signal | None = None
    fault_address: int | None = None
    causes: list[str] = field(default_factory=list)
    threads: list[_Thread] = field(default_factory=list)
    mappings: list[android.MappingEntry] = field(default_factory=list)
    logs: list[pb.Breadcrumb] = field(default_factory=list)


def sniff_tombstone_text(body: bytes) -> bool:
    """Return whether the text has a tombstone header followed by a ``pid: N, tid: N`` line."""
    lines = _content_lines(body[:_SNIFF_BYTES].decode("utf-8", "replace").splitlines())
    seen_header = False
    for line in lines:
        if _HEADER.match(line):
            seen_header = True
        elif seen_header and _THREAD_HEADER.match(line):
            return True
    return False


def convert_tombstone_text(body: bytes, received_at: datetime) -> list[pb.CrashReport]:
    """Convert the first tombstone in the text (the registry's converter for ``tombstone-text``)."""
    text = body.decode("utf-8", "replace")
    parsed = _parse(_content_lines(text.splitlines()))
    if parsed is None:
        raise InvalidPayload("text has no tombstone: no '*** *** ***' header followed by a 'pid: N, tid: N' line")
    if not parsed.threads:
        raise InvalidPayload("tombstone has no thread section ('pid: N, tid: N, name: ...' line)")
    return [_to_report(parsed, received_at)]


def _content_lines(lines: Iterable[str]) -> list[str]:
    """Return the tombstone's lines without logcat prefixes.

    The text is logcat output when the ``*** *** ***`` header line has a
    logcat prefix, and then only the lines crash_dump wrote are kept. Otherwise
    the lines are returned as they are, since a tombstone file's own log
    section also has lines that look like logcat's.
    """
    lines = list(lines)
    for line in lines:
        if "*** *** ***" not in line:
            continue
        if _logcat_prefix(line) is None:
            return lines
        break
    contents = []
    for line in lines:
        match = _logcat_prefix(line)
        if match is not None and match.group("tag").strip() in _TOMBSTONE_TAGS:
            contents.append(match.group("content"))
    return contents


def _logcat_prefix(line: str) -> re.Match[str] | None:
    return _THREADTIME_PREFIX.match(line) or _BRIEF_PREFIX.match(line)


def _parse(lines: list[str]) -> _Tombstone | None:
    iterator = iter(lines)
    for line in iterator:
        if _HEADER.match(line):
            break
    else:
        return None

    tombstone = _Tombstone()
    thread: _Thread | None = None
    section = "header"
    log_name = ""
    for line in iterator:
        if _HEADER.match(line):
            break  # the next crash
        header = _THREAD_HEADER.match(line)
        if header is not None:
            thread = _Thread(int(header.group("tid")), header.group("name"))
            tombstone.threads.append(thread)
            if not tombstone.pid:
                tombstone.pid = int(header.group("pid"))
                tombstone.process = header.group("process")
            section = "registers"
            continue
        if _THREAD_SEPARATOR.match(line):
            section = "between threads"
            continue
        log_section = _LOG_SECTION.match(line)
        if log_section is not None:
            section, log_name = "log", log_section.group("name")
            continue
        if line.startswith("memory map ("):
            section = "memory map"
            continue
        if line.strip() == "backtrace:" and thread is not None:
            section = "backtrace"
            continue
        section = _parse_line(tombstone, thread, section, line, log_name)
    return tombstone


def _parse_line(tombstone: _Tombstone, thread: _Thread | None, section: str, line: str, log_name: str) -> str:
    """Read one line of the current section and return the section the next line is in."""
    if section == "backtrace" and thread is not None:
        entry = android.parse_backtrace_line(line)
        if entry is not None:
            thread.frames.append(entry)
            return section
        return "backtrace" if line.strip().startswith("NOTE:") else "after backtrace"
    if section == "memory map":
        mapping = _parse_mapping(line)
        if mapping is not None:
            tombstone.mappings.append(mapping)
            return section
        return section if line.startswith("--->Fault address") else "after memory map"
    if section == "log":
        crumb = _parse_log_line(line, log_name, tombstone.fields.get("Timestamp", ""))
        if crumb is not None:
            tombstone.logs.append(crumb)
        return section
    if section == "registers" and thread is not None and _REGISTER_ROW.match(line):
        for name, value in _REGISTER.findall(line):
            thread.registers[name] = int(value, 16)
        return section
    if len(tombstone.threads) <= 1:
        _parse_crash_field(tombstone, line)
    return section


def _parse_crash_field(tombstone: _Tombstone, line: str) -> None:
    """Read the signal, cause and abort message lines that follow the crashing thread's header."""
    signal = _SIGNAL.match(line)
    if signal is not None:
        tombstone.signal = pb.Signal(
            number=int(signal.group("number")),
            name=signal.group("name"),
            code=int(signal.group("code")),
            code_name=signal.group("code_name"),
        )
        address = signal.group("address")
        tombstone.fault_address = int(address, 16) if address.startswith("0x") else None
        return
    for pattern in (_QUOTED_FIELD, _PLAIN_FIELD):
        match = pattern.match(line)
        if match is not None:
            key, value = match.group("key"), match.group("value")
            if key == "Cause":
                tombstone.causes.append(value)
            else:
                tombstone.fields.setdefault(key, value)
            return


def _parse_mapping(line: str) -> android.MappingEntry | None:
    match = _MEMORY_MAP_LINE.match(line)
    if match is None:
        return None
    rest = (match.group("rest") or "").strip()
    build_id = ""
    suffix = _MAP_SUFFIX.search(rest)
    while suffix is not None:
        build_id = suffix.group("build_id") or build_id
        rest = rest[: suffix.start()].rstrip()
        suffix = _MAP_SUFFIX.search(rest)
    begin = int(match.group("begin").replace("'", ""), 16)
    return android.MappingEntry(
        begin=begin,
        end=int(match.group("end").replace("'", ""), 16) + 1,
        offset=int(match.group("offset"), 16),
        readable=match.group("perms").startswith("r"),
        name=rest,
        build_id=build_id,
    )


def _parse_log_line(line: str, buffer_name: str, crash_timestamp: str) -> pb.Breadcrumb | None:
    match = _LOG_LINE.match(line)
    if match is None:
        return None
    crumb = pb.Breadcrumb(
        type="debug",
        category=f"logcat.{buffer_name}",
        message=truncate(match.group("message"), MAX_BREADCRUMB_VALUE_CHARS),
        level=_LOG_LEVELS.get(match.group("priority"), pb.LEVEL_UNSPECIFIED),
    )
    crumb.data["tag"] = truncate(match.group("tag"), MAX_BREADCRUMB_VALUE_CHARS)
    crumb.data["pid"] = match.group("pid")
    crumb.data["tid"] = match.group("tid")
    moment = android.parse_log_time(match.group("time"), crash_timestamp)
    if moment is not None:
        crumb.timestamp.FromDatetime(moment)
    return crumb


def _to_report(parsed: _Tombstone, received_at: datetime) -> pb.CrashReport:
    report = pb.CrashReport(source_format=SOURCE_FORMAT, platform=pb.PLATFORM_ANDROID, level=pb.LEVEL_FATAL)
    fields = parsed.fields
    arch = android.arch_for_abi(fields.get("ABI", ""))
    android.set_timestamp(report, android.parse_timestamp(fields.get("Timestamp", "")), received_at)
    android.fill_device_and_os(report, fields.get("Build fingerprint", ""), arch)
    process = fields.get("Cmdline") or parsed.process
    report.app.bundle_id = android.package_name(process.split(" ", 1)[0])
    if fields.get("Revision"):
        report.tags["android.revision"] = fields["Revision"]

    all_frames = [entry for thread in parsed.threads for entry in thread.frames]
    if parsed.mappings:
        images = android.images_from_mappings(parsed.mappings, arch)
    else:
        images = android.placeholder_images(all_frames, arch)
        if images:
            report.notes.add(
                step=PARSE_STEP,
                message="The tombstone has no memory map, so the images' load addresses are placeholders."
                " Frame offsets inside each image are as the device reported them.",
            )
    report.images.extend(images)
    resolver = android.ImageResolver(images)

    crashed_tid = parsed.threads[0].tid
    for source in parsed.threads:
        report.threads.append(_convert_thread(source, crashed_tid, parsed.pid, resolver))

    signal = parsed.signal or pb.Signal()
    if parsed.signal is not None:
        report.exceptions.append(
            android.signal_exception(
                signal,
                fault_address=parsed.fault_address,
                abort_message=fields.get("Abort message", ""),
                causes=parsed.causes,
                thread_id=crashed_tid,
            )
        )
    report.message = android.fatal_signal_message(
        signal, parsed.fault_address, f"tid {crashed_tid} ({parsed.threads[0].name})", process, parsed.pid
    )
    report.breadcrumbs.extend(parsed.logs[-MAX_BREADCRUMBS:])
    return report


def _convert_thread(source: _Thread, crashed_tid: int, pid: int, resolver: android.ImageResolver) -> pb.Thread:
    thread = pb.Thread(id=source.tid, name=source.name, crashed=source.tid == crashed_tid, main=source.tid == pid)
    thread.current = thread.crashed
    for name, value in source.registers.items():
        thread.registers[name] = value
    thread.frames.extend(android.trim_frames([android.native_frame(entry, resolver) for entry in source.frames]))
    return thread
