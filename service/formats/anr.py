"""Convert an Android ANR trace (the thread dump ART writes on SIGQUIT) into a CrashReport.

Apps receive this text from ``ApplicationExitInfo.getTraceInputStream()`` for
an exit with ``REASON_ANR``, and the system keeps the same dumps in /data/anr. A
process section starts with ``----- pid N at <time> -----`` and ends with
``----- end N -----``. Each thread starts with a line such as
``"main" prio=5 tid=1 Blocked`` and lists ``| key=value`` lines, native frames
(``native: #00 pc ...``), Java frames (``at pkg.Class.method(File.java:12)``)
and lock lines (``- waiting to lock <0x0d3a2f0a> (a java.lang.Object) held by thread 5``).

The main thread is the blamed thread, because an ANR means it stopped
responding. Only the first process section with threads is converted, which
for an ApplicationExitInfo trace is the app's own process.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from service.formats import android_common as android
from service.formats.errors import InvalidPayload
from service.formats.sentry_values import truncate
from service.schema import crash_report_pb2 as pb

SOURCE_FORMAT = "anr"
PARSE_STEP = "parse"
EXCEPTION_TYPE = "ApplicationNotResponding"
MECHANISM_TYPE = "anr"

_SNIFF_BYTES = 64 * 1024
MAX_TAG_VALUE_CHARS = 200
_PROCESS_START = re.compile(r"^----- pid (?P<pid>\d+) at (?P<time>.+?) -----\s*$")
_PROCESS_END = re.compile(r"^----- end (?P<pid>\d+) -----\s*$")
_SNIFF_PROCESS_START = re.compile(rb"^----- pid \d+ at [^\n]* -----\r?$", re.MULTILINE)
_SNIFF_CMD_LINE = re.compile(rb"^Cmd line: ", re.MULTILINE)
_QUOTED_FIELD = re.compile(r"^(?P<key>Build fingerprint|ABI): '(?P<value>.*)'\s*$")
_SUBJECT = re.compile(r"^Subject: (?P<subject>.+?)\s*$")
_THREAD_HEADER = re.compile(
    r'^"(?P<name>.*)"(?P<daemon> daemon)? prio=(?P<prio>-?\d+)'
    r"(?: tid=(?P<tid>\d+) (?P<state>\w+)| \(not attached\))"
)
_THREAD_DETAIL = re.compile(r"^\s+\| (?P<details>.*)$")
_SYS_TID = re.compile(r"\bsysTid=(?P<sys_tid>\d+)")
_JAVA_FRAME = re.compile(r"^\s+at (?P<method>[^\s(]+)\((?P<location>[^)]*)\)\s*$")
_NATIVE_FRAME = re.compile(r"^\s+native: (?P<frame>#\d+ pc .*)$")
_LOCK = re.compile(
    r"^\s+- (?P<kind>waiting to lock|waiting on|sleeping on|locked) <(?P<address>0x[0-9a-fA-F]+)>"
    r"(?: \(a (?P<class_name>[^)]+)\))?(?: held by (?:thread |tid=)(?P<owner>\d+))?"
)
_LOCATION_LINE = re.compile(r"^(?P<file>.*):(?P<line>\d+)$")
# Location texts that name no source file.
_NO_SOURCE_FILE = frozenset({"Native method", "Unknown Source", "Native Method"})


@dataclass
class _Thread:
    name: str
    tid: int | None
    state: str
    sys_tid: int | None = None
    frames: list[pb.Frame] = field(default_factory=list)
    native_entries: list[tuple[int, android.NativeFrameEntry]] = field(default_factory=list)
    held_locks: list[pb.Lock] = field(default_factory=list)
    waiting_on: pb.Lock | None = None


@dataclass
class _Process:
    pid: int
    time: str
    fields: dict[str, str] = field(default_factory=dict)
    threads: list[_Thread] = field(default_factory=list)


def sniff_anr(body: bytes) -> bool:
    """Return whether the text has a ``----- pid N at ... -----`` line and a ``Cmd line:`` line."""
    head = body[:_SNIFF_BYTES]
    return _SNIFF_PROCESS_START.search(head) is not None and _SNIFF_CMD_LINE.search(head) is not None


def convert_anr(body: bytes, received_at: datetime) -> list[pb.CrashReport]:
    """Convert the app's section of an ANR trace (the registry's converter for ``anr``)."""
    lines = body.decode("utf-8", "replace").splitlines()
    subject = _find_subject(lines)
    process = _first_process_with_threads(lines)
    if process is None:
        raise InvalidPayload("ANR trace has no process section with threads ('----- pid N at ... -----' and thread lines)")
    return [_to_report(process, subject, received_at)]


def _find_subject(lines: list[str]) -> str:
    """Return the ``Subject:`` line (the ANR reason) that precedes the first process section, if any."""
    for line in lines:
        if _PROCESS_START.match(line):
            return ""
        match = _SUBJECT.match(line)
        if match is not None:
            return match.group("subject")
    return ""


def _first_process_with_threads(lines: list[str]) -> _Process | None:
    process: _Process | None = None
    thread: _Thread | None = None
    for line in lines:
        start = _PROCESS_START.match(line)
        if start is not None:
            process, thread = _Process(int(start.group("pid")), start.group("time")), None
            continue
        if process is None:
            continue
        if _PROCESS_END.match(line):
            if process.threads:
                return process
            process, thread = None, None
            continue
        header = _THREAD_HEADER.match(line)
        if header is not None:
            tid = header.group("tid")
            thread = _Thread(header.group("name"), int(tid) if tid else None, header.group("state") or "")
            process.threads.append(thread)
            continue
        if thread is None:
            _read_process_field(process, line)
        elif not line.strip():
            thread = None
        else:
            _read_thread_line(thread, line)
    return process if process is not None and process.threads else None


def _read_process_field(process: _Process, line: str) -> None:
    if line.startswith("Cmd line: "):
        process.fields.setdefault("Cmd line", line[len("Cmd line: ") :].strip())
        return
    match = _QUOTED_FIELD.match(line)
    if match is not None:
        process.fields.setdefault(match.group("key"), match.group("value"))


def _read_thread_line(thread: _Thread, line: str) -> None:
    java = _JAVA_FRAME.match(line)
    if java is not None:
        thread.frames.append(_java_frame(java.group("method"), java.group("location")))
        return
    native = _NATIVE_FRAME.match(line)
    if native is not None:
        entry = android.parse_backtrace_line(native.group("frame"))
        if entry is not None:
            thread.native_entries.append((len(thread.frames), entry))
            thread.frames.append(pb.Frame())  # replaced once the images are known
        return
    lock = _LOCK.match(line)
    if lock is not None:
        _read_lock(thread, lock)
        return
    detail = _THREAD_DETAIL.match(line)
    if detail is not None:
        sys_tid = _SYS_TID.search(detail.group("details"))
        if sys_tid is not None:
            thread.sys_tid = int(sys_tid.group("sys_tid"))


def _java_frame(method: str, location: str) -> pb.Frame:
    class_name, _, method_name = method.rpartition(".")
    filename, lineno = "", 0
    match = _LOCATION_LINE.match(location)
    if match is not None:
        filename, lineno = match.group("file"), int(match.group("line"))
    else:
        filename = location
    if filename in _NO_SOURCE_FILE:
        filename = ""
    return android.java_frame(class_name, method_name, filename, lineno)


def _read_lock(thread: _Thread, match: re.Match[str]) -> None:
    """Record a lock line: ``locked`` is a held monitor, ``waiting to lock`` and ``waiting on`` are waits.

    ``sleeping on`` names the object ``Thread.sleep`` waits on internally,
    which no other thread holds, so it is not recorded as a wait.
    """
    lock = pb.Lock(address=match.group("address"), class_name=match.group("class_name") or "")
    if match.group("owner"):
        lock.owner_thread_id = int(match.group("owner"))
    kind = match.group("kind")
    if kind == "locked":
        if all(held.address != lock.address for held in thread.held_locks):
            thread.held_locks.append(lock)
    elif kind in ("waiting to lock", "waiting on") and thread.waiting_on is None:
        thread.waiting_on = lock


def _to_report(process: _Process, subject: str, received_at: datetime) -> pb.CrashReport:
    report = pb.CrashReport(source_format=SOURCE_FORMAT, platform=pb.PLATFORM_ANDROID, level=pb.LEVEL_ERROR)
    arch = android.arch_for_abi(process.fields.get("ABI", ""))
    android.set_timestamp(report, android.parse_timestamp(process.time), received_at)
    android.fill_device_and_os(report, process.fields.get("Build fingerprint", ""), arch)
    report.app.bundle_id = android.package_name(process.fields.get("Cmd line", ""))

    entries = [entry for thread in process.threads for _, entry in thread.native_entries]
    images = android.placeholder_images(entries, arch)
    if images:
        report.notes.add(
            step=PARSE_STEP,
            message="ANR traces list no memory map, so the native images' load addresses are placeholders."
            " Frame offsets inside each image are as the device reported them.",
        )
    report.images.extend(images)
    resolver = android.ImageResolver(images)

    main = _main_thread(process)
    for source in process.threads:
        report.threads.append(_convert_thread(source, source is main, resolver))

    exception = report.exceptions.add(type=EXCEPTION_TYPE)
    exception.mechanism.type = MECHANISM_TYPE
    exception.mechanism.handled = False
    if main is not None:
        exception.thread_id = _thread_id(main)
    exception.value = _describe_main_thread(main, process.threads)
    if subject:
        # "Input dispatching timed out (<window> is not responding. Waited 5001ms for MotionEvent)":
        # the reason before the parenthesis stays the same across occurrences, the rest does not.
        reason = subject.split(" (", 1)[0].strip()
        exception.value = f"{reason}: {exception.value}"
        report.tags["android.anr_subject"] = truncate(subject, MAX_TAG_VALUE_CHARS)
    return report


def _main_thread(process: _Process) -> _Thread | None:
    """Return the thread named ``main`` (Java tid 1 in every ART version), or the one with tid 1."""
    for thread in process.threads:
        if thread.name == "main":
            return thread
    for thread in process.threads:
        if thread.tid == 1:
            return thread
    return None


def _thread_id(thread: _Thread) -> int:
    """Return the Java thread id, which lock owners refer to, or the kernel id of a thread not attached to ART."""
    if thread.tid is not None:
        return thread.tid
    return thread.sys_tid if thread.sys_tid is not None else 0


def _convert_thread(source: _Thread, is_main: bool, resolver: android.ImageResolver) -> pb.Thread:
    thread = pb.Thread(id=_thread_id(source), name=source.name, state=source.state)
    thread.main = thread.crashed = thread.current = is_main
    for position, entry in source.native_entries:
        source.frames[position] = android.native_frame(entry, resolver)
    thread.frames.extend(android.trim_frames(source.frames))
    thread.held_locks.extend(source.held_locks)
    if source.waiting_on is not None:
        thread.waiting_on.CopyFrom(source.waiting_on)
    return thread


def _describe_main_thread(main: _Thread | None, threads: list[_Thread]) -> str:
    """Describe the main thread's state, and the lock it waits for, without addresses that change per run."""
    if main is None:
        return "main thread not found in the trace"
    description = f"main thread {main.state}" if main.state else "main thread"
    lock = main.waiting_on
    if lock is not None and lock.class_name:
        description += f", waiting for {lock.class_name}"
        if lock.owner_thread_id:
            owner = next((thread for thread in threads if thread.tid == lock.owner_thread_id), None)
            owner_name = f' "{owner.name}"' if owner is not None else ""
            description += f" held by thread {lock.owner_thread_id}{owner_name}"
    return description
