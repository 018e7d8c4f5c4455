"""Convert Sentry stack traces and threads into ``pb.Frame`` and ``pb.Thread``.

Sentry lists frames outermost first (the last frame is where the thread
stopped). The canonical model lists them innermost first, so every frame list
is reversed here.
"""

from typing import Any

from service.formats.sentry_values import (
    as_dict,
    as_dicts,
    as_text,
    parse_bool,
    parse_int64,
    parse_uint32,
    parse_uint64,
)
from service.schema import crash_report_pb2 as pb

# Values of ``Frame.address_mode``. An empty value means the SDK sent no mode,
# so the symbolicator applies its default: frame 0 of a thread as is, the
# other frames as return addresses.
ADDRESS_MODE_EXACT = "exact"
ADDRESS_MODE_RETURN = "return"

PLATFORM_JAVA = "java"
PLATFORM_NATIVE = "native"

# A stack trace longer than this keeps its innermost and outermost halves,
# as Sentry's own trimming does, because deep recursion otherwise makes huge reports.
MAX_FRAMES = 512

_JAVA_PLATFORMS = {"java", "android", "kotlin", "jvm", "dalvik"}
_NATIVE_PLATFORMS = {"native", "cocoa", "objc", "swift", "c", "cpp", "apple"}

# Placeholder function names that carry no information. sentry-cocoa writes
# "<redacted>" for system symbols it could not read on the device.
_PLACEHOLDER_FUNCTIONS = {"<redacted>", "<unknown>", "?", "??"}

# Java lock reasons of sentry-java's ``held_locks`` (a bit field): LOCKED
# means the thread holds the monitor, WAITING and BLOCKED mean it waits for
# it. SLEEPING (4, ``Thread.sleep``) waits for no lock and is not converted.
_LOCK_LOCKED = 1
_LOCK_WAITING = 2
_LOCK_BLOCKED = 8


def convert_stacktrace(stacktrace: Any, default_platform: str) -> list[pb.Frame]:
    """Convert a Sentry stack trace object into frames, innermost first."""
    raw = as_dict(stacktrace)
    raw_frames = as_dicts(raw.get("frames"))
    if len(raw_frames) > MAX_FRAMES:
        half = MAX_FRAMES // 2
        raw_frames = raw_frames[:half] + raw_frames[-half:]
    frames = [convert_frame(item, default_platform) for item in reversed(raw_frames)]
    _apply_address_adjustment(frames, as_text(raw.get("instruction_addr_adjustment")).lower())
    return frames


def convert_registers(stacktrace: Any) -> dict[str, int]:
    """Read the ``registers`` map of a stack trace, skipping values that are not numbers."""
    registers = {}
    for name, value in as_dict(as_dict(stacktrace).get("registers")).items():
        number = parse_uint64(value)
        if number is not None and isinstance(name, str):
            registers[name] = number
    return registers


_TEXT_FIELDS = ("module", "filename", "abs_path")
_ADDRESS_FIELDS = ("instruction_addr", "symbol_addr", "image_addr")
_LINE_FIELDS = ("lineno", "colno")


def convert_frame(raw: dict[str, Any], default_platform: str) -> pb.Frame:
    """Convert one Sentry frame, using ``default_platform`` when the frame names none.

    Only keys present in the frame are read, and the message is built in one
    call, because a report can hold thousands of frames.
    """
    get = raw.get
    fields: dict[str, Any] = {}
    function = as_text(get("function"))
    if function and function not in _PLACEHOLDER_FUNCTIONS:
        fields["function"] = function
    raw_function = as_text(get("raw_function")) or as_text(get("symbol"))
    if raw_function:
        fields["raw_function"] = raw_function
    for name in _TEXT_FIELDS:
        value = get(name)
        if value is not None:
            fields[name] = as_text(value)
    for name in _LINE_FIELDS:
        value = get(name)
        if value is not None:
            fields[name] = parse_uint32(value) or 0
    # NOTE: frames with ``addr_mode: "rel:N"`` (addresses relative to image N,
    # sent by .NET and WebAssembly SDKs) are read as absolute addresses.
    for name in _ADDRESS_FIELDS:
        value = get(name)
        if value is not None:
            fields[name] = parse_uint64(value) or 0
    in_app = parse_bool(get("in_app"))
    if in_app is not None:
        fields["in_app"] = in_app
    platform = _frame_platform(raw, fields, default_platform)
    fields["platform"] = platform
    if platform == PLATFORM_JAVA:
        fields["lang"] = "kotlin" if fields.get("filename", "").endswith(".kt") else "java"
        package, _, _ = fields.get("module", "").rpartition(".")
        fields["package"] = package or as_text(get("package"))
    else:
        fields["package"] = as_text(get("package"))
    return pb.Frame(**fields)


def _frame_platform(raw: dict[str, Any], fields: dict[str, Any], default_platform: str) -> str:
    explicit = as_text(raw.get("platform")).lower()
    if explicit in _JAVA_PLATFORMS:
        return PLATFORM_JAVA
    if explicit in _NATIVE_PLATFORMS:
        return PLATFORM_NATIVE
    if fields.get("instruction_addr"):
        return PLATFORM_NATIVE
    if fields.get("module") and fields.get("function") and default_platform != PLATFORM_NATIVE:
        return PLATFORM_JAVA
    return default_platform


def _apply_address_adjustment(frames: list[pb.Frame], adjustment: str) -> None:
    """Record Sentry's ``instruction_addr_adjustment`` on each native frame.

    With ``all_but_first`` frame 0 is the faulting instruction and the others
    are return addresses. With ``all`` every address is a return address,
    because the stack walker dropped the top frames. With ``none`` the SDK
    already adjusted them. ``auto`` and a missing value leave the mode empty.
    """
    for index, frame in enumerate(frames):
        if frame.platform != PLATFORM_NATIVE:
            continue
        if adjustment == "all_but_first":
            frame.address_mode = ADDRESS_MODE_EXACT if index == 0 else ADDRESS_MODE_RETURN
        elif adjustment == "all":
            frame.address_mode = ADDRESS_MODE_RETURN
        elif adjustment == "none":
            frame.address_mode = ADDRESS_MODE_EXACT


def convert_threads(threads: Any, default_platform: str) -> list[pb.Thread]:
    """Convert the ``threads`` interface (bare list or ``values`` wrapper)."""
    return [convert_thread(raw, default_platform) for raw in as_dicts(threads)]


def convert_thread(raw: dict[str, Any], default_platform: str) -> pb.Thread:
    """Convert one thread, including its stack trace, registers and Java locks."""
    thread = pb.Thread()
    # sentry-swift 1.x wrote the thread index under "uuid".
    thread_id = parse_int64(raw.get("id"))
    if thread_id is None:
        thread_id = parse_int64(raw.get("uuid"))
    thread.id = thread_id or 0
    thread.name = as_text(raw.get("name"))
    thread.crashed = parse_bool(raw.get("crashed")) or False
    thread.current = parse_bool(raw.get("current")) or False
    thread.main = parse_bool(raw.get("main")) or False
    thread.state = as_text(raw.get("state"))
    stacktrace = raw.get("stacktrace")
    thread.frames.extend(convert_stacktrace(stacktrace, default_platform))
    for name, value in convert_registers(stacktrace).items():
        thread.registers[name] = value
    _convert_locks(raw.get("held_locks"), thread)
    return thread


def _convert_locks(held_locks: Any, thread: pb.Thread) -> None:
    for raw in as_dict(held_locks).values():
        if not isinstance(raw, dict):
            continue
        lock = pb.Lock(address=as_text(raw.get("address")))
        package = as_text(raw.get("package_name"))
        class_name = as_text(raw.get("class_name"))
        lock.class_name = f"{package}.{class_name}" if package and class_name else class_name
        owner = parse_int64(raw.get("thread_id"))
        if owner is not None:
            lock.owner_thread_id = owner
        reason = parse_int64(raw.get("type")) or 0
        if reason & (_LOCK_BLOCKED | _LOCK_WAITING) and not thread.HasField("waiting_on"):
            thread.waiting_on.CopyFrom(lock)
        elif reason & _LOCK_LOCKED:
            thread.held_locks.append(lock)
