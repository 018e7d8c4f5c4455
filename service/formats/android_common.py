"""Parts shared by the Android converters: build fingerprints, signals, native frames and ELF images.

Native frames on Android come from libunwindstack, both in tombstones and in
the ``native:`` lines of ANR traces. Each frame names its file, its build id
and ``rel_pc``, the address inside the ELF file. libunwindstack has already
moved every caller frame back into its call instruction, so all frames are
looked up as they are (address mode ``exact``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from google.protobuf.timestamp_pb2 import Timestamp

from service.formats.sentry_frames import ADDRESS_MODE_EXACT, MAX_FRAMES, PLATFORM_JAVA, PLATFORM_NATIVE
from service.formats.sentry_images import debug_id_from_build_id, normalize_code_id
from service.schema import crash_report_pb2 as pb

# ABI names as tombstones and ANR traces print them ("ABI: 'arm64'"), mapped to
# the architecture names symbolic uses.
_ABI_ARCHS = {"arm64": "arm64", "arm": "arm", "x86": "x86", "x86_64": "x86_64", "riscv64": "riscv64"}

# Placeholder load addresses for images whose real address the report does not
# contain: image n is placed at (n + 1) * _PLACEHOLDER_SPACING. 4 GiB apart is
# more than any Android library's size, so the images never overlap.
_PLACEHOLDER_SPACING = 1 << 32

# "brand/product/device:release/build id/incremental:type/tags" (ro.build.fingerprint).
_FINGERPRINT = re.compile(
    r"^(?P<brand>[^/]+)/(?P<product>[^/]+)/(?P<device>[^:/]+)"
    r":(?P<release>[^/]*)/(?P<build_id>[^/]*)/(?P<incremental>[^:]*)"
    r":(?P<build_type>[^/]*)/(?P<tags>.*)$"
)

# "2025-11-24 16:26:18.007439439+0100", as debuggerd and ART print local times.
_TIMESTAMP = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})[ T](?P<time>\d{2}:\d{2}:\d{2})(?:\.(?P<fraction>\d+))?"
    r"\s*(?P<zone>[+-]\d{2}:?\d{2}|Z)?$"
)

_UTC_OFFSET = re.compile(r"^(?P<sign>[+-])(?P<hours>\d{2}):?(?P<minutes>\d{2})$")
# Logcat times: "MM-DD HH:MM:SS.mmm" in the device's local time, without a year.
_LOG_TIMESTAMP = re.compile(r"^(?P<month>\d{2})-(?P<day>\d{2}) (?P<time>\d{2}:\d{2}:\d{2})\.(?P<millis>\d{3})$")

# "#00 pc 000000000004f0c4  /apex/.../libc.so (abort+164) (BuildId: 0a1b...)"
_BACKTRACE_LINE = re.compile(r"#(?P<index>\d+) pc (?P<rel_pc>[0-9a-fA-F]+)\s+(?P<rest>.*)$")
_BUILD_ID_SUFFIX = re.compile(r"\s*\(BuildId: (?P<build_id>[0-9a-fA-F]*)\)$")
_OFFSET_GROUP = re.compile(r"^offset 0x(?P<offset>[0-9a-fA-F]+)$")
_FUNCTION_GROUP = re.compile(r"^(?P<function>.+?)(?:\+(?P<offset>\d+))?$", re.DOTALL)

# Android package names: at least two dot-separated Java identifiers.
_PACKAGE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)+$")

# Fingerprint products of the Android emulator system images ("sdk_gphone64_arm64",
# "generic_x86"). NOTE: a name heuristic, so a phone product named like these would be taken for an emulator.
_EMULATOR_PRODUCT_PREFIXES = ("sdk", "google_sdk", "generic", "gphone")


@dataclass(frozen=True)
class BuildFingerprint:
    brand: str
    product: str
    device: str
    release: str
    build_id: str
    incremental: str
    build_type: str
    tags: str


def parse_fingerprint(text: str) -> BuildFingerprint | None:
    """Split a build fingerprint into its parts, or return None when it has another shape."""
    match = _FINGERPRINT.match(text.strip())
    if match is None:
        return None
    return BuildFingerprint(**match.groupdict())


def arch_for_abi(abi: str) -> str:
    """Return symbolic's architecture name for an ABI name such as ``arm64``, or ``""``."""
    return _ABI_ARCHS.get(abi.strip().lower(), "")


def fill_device_and_os(report: pb.CrashReport, fingerprint_text: str, arch: str) -> None:
    """Set the report's device and OS from a build fingerprint and the process architecture.

    The fingerprint names the device by its codename (``bluejay``), which goes
    into ``device.model``. Its release is the Android version (``16``).
    """
    report.os.name = "Android"
    if arch:
        report.device.archs.append(arch)
    fingerprint = parse_fingerprint(fingerprint_text)
    if fingerprint is None:
        return
    report.device.brand = fingerprint.brand
    report.device.model = fingerprint.device
    report.device.model_id = fingerprint.product
    report.device.simulator = fingerprint.product.startswith(_EMULATOR_PRODUCT_PREFIXES)
    report.os.version = fingerprint.release
    report.os.build = fingerprint.build_id
    report.tags["android.build_fingerprint"] = fingerprint_text.strip()


def parse_timestamp(text: str) -> datetime | None:
    """Parse a local time with UTC offset as Android prints it and return it in UTC, or None."""
    match = _TIMESTAMP.match(text.strip())
    if match is None:
        return None
    fraction = (match.group("fraction") or "0")[:6].ljust(6, "0")
    try:
        local = datetime.fromisoformat(f"{match.group('date')}T{match.group('time')}.{fraction}")
    except ValueError:
        return None
    return (local - _utc_offset(match.group("zone") or "")).replace(tzinfo=UTC)


def _utc_offset(zone: str) -> timedelta:
    """Return the offset that ``+0100`` or ``-05:30`` names, and zero for ``Z`` or anything else."""
    match = _UTC_OFFSET.match(zone)
    if match is None:
        return timedelta(0)
    offset = timedelta(hours=int(match.group("hours")), minutes=int(match.group("minutes")))
    return -offset if match.group("sign") == "-" else offset


def parse_log_time(text: str, crash_timestamp: str) -> datetime | None:
    """Return the UTC time of a logcat line's ``MM-DD HH:MM:SS.mmm``, or None.

    Log times are local and have no year, so the year and the UTC offset come
    from the crash timestamp. A line from December before a crash in January
    belongs to the year before.
    """
    match = _LOG_TIMESTAMP.match(text.strip())
    crash_match = _TIMESTAMP.match(crash_timestamp.strip())
    if match is None or crash_match is None:
        return None
    offset = _utc_offset(crash_match.group("zone") or "")
    year = int(crash_match.group("date")[:4])
    try:
        local = datetime.fromisoformat(
            f"{year:04d}-{match.group('month')}-{match.group('day')}T{match.group('time')}.{match.group('millis')}000"
        )
    except ValueError:
        return None
    if local > datetime.fromisoformat(f"{crash_match.group('date')}T{crash_match.group('time')}") + timedelta(days=180):
        local = local.replace(year=year - 1)
    return (local - offset).replace(tzinfo=UTC)


def set_timestamp(report: pb.CrashReport, moment: datetime | None, received_at: datetime) -> None:
    stamp = Timestamp()
    stamp.FromDatetime(moment or received_at)
    report.timestamp.CopyFrom(stamp)


def package_name(process_name: str) -> str:
    """Return the app's package name from a process name (``com.example:remote``), or ``""``."""
    candidate = process_name.strip().split(":", 1)[0]
    return candidate if _PACKAGE_NAME.match(candidate) else ""


def signal_exception(
    signal: pb.Signal, *, fault_address: int | None, abort_message: str, causes: Sequence[str], thread_id: int
) -> pb.ExceptionInfo:
    """Build the exception of a native crash from its signal.

    The type is the signal name (``SIGSEGV``). The value is the abort message
    when there is one, else the signal code and, when debuggerd names one, the
    probable cause (``null pointer dereference``).
    """
    exception = pb.ExceptionInfo(type=signal.name or f"signal {signal.number}", thread_id=thread_id)
    mechanism = exception.mechanism
    mechanism.type = "tombstone"
    mechanism.handled = False
    mechanism.signal.CopyFrom(signal)
    if fault_address is not None:
        mechanism.fault_address = fault_address
    mechanism.description = "; ".join(cause for cause in causes if cause)

    if abort_message:
        exception.value = abort_message
        return exception
    parts = [signal.code_name] if signal.code_name else []
    if fault_address is not None:
        parts.append(f"at 0x{fault_address:x}")
    value = " ".join(parts)
    if mechanism.description:
        value = f"{value} ({mechanism.description})" if value else mechanism.description
    exception.value = value
    return exception


def fatal_signal_message(signal: pb.Signal, fault_address: int | None, thread: str, process: str, pid: int) -> str:
    """Return the line debuggerd logs for the crash, e.g. ``Fatal signal 11 (SIGSEGV), code 1 (SEGV_MAPERR) ...``."""
    address = f"0x{fault_address:x}" if fault_address is not None else "--------"
    return (
        f"Fatal signal {signal.number} ({signal.name}), code {signal.code} ({signal.code_name}),"
        f" fault addr {address} in {thread}, pid {pid} ({process})"
    )


@dataclass(frozen=True)
class NativeFrameEntry:
    """One libunwindstack frame, from a tombstone protobuf or a text backtrace line."""

    rel_pc: int
    file_name: str
    build_id: str = ""
    function_name: str = ""
    function_offset: int = 0
    file_map_offset: int = 0
    pc: int | None = None  # absolute address, which text backtraces do not print


def parse_backtrace_line(line: str) -> NativeFrameEntry | None:
    """Parse ``#00 pc 0000000000001234  /path/libx.so (offset 0x1000) (func+12) (BuildId: ab12)``.

    The function name may contain parentheses and spaces (C++ signatures), so
    the trailing groups are taken off from the right: build id, then function,
    then file map offset. What remains is the file name, which may itself end
    in a group such as ``(deleted)``.
    """
    match = _BACKTRACE_LINE.search(line)
    if match is None:
        return None
    rest = match.group("rest").rstrip()
    build_id = ""
    build_match = _BUILD_ID_SUFFIX.search(rest)
    if build_match is not None:
        build_id = build_match.group("build_id").lower()
        rest = rest[: build_match.start()].rstrip()

    function_name, function_offset, file_map_offset = "", 0, 0
    group, before = _last_group(rest)
    if group is not None and not _OFFSET_GROUP.match(group) and group != "deleted":
        function = _FUNCTION_GROUP.match(group)
        if function is not None:
            function_name = function.group("function")
            function_offset = int(function.group("offset") or 0)
            rest = before
            group, before = _last_group(rest)
    if group is not None:
        offset_match = _OFFSET_GROUP.match(group)
        if offset_match is not None:
            file_map_offset = int(offset_match.group("offset"), 16)
            rest = before
    return NativeFrameEntry(
        rel_pc=int(match.group("rel_pc"), 16),
        file_name=rest.strip(),
        build_id=build_id,
        function_name=function_name,
        function_offset=function_offset,
        file_map_offset=file_map_offset,
    )


def _last_group(text: str) -> tuple[str | None, str]:
    """Split ``text`` before its final balanced ``(...)`` group preceded by a space."""
    if not text.endswith(")"):
        return None, text
    depth = 0
    for index in range(len(text) - 1, -1, -1):
        char = text[index]
        if char == ")":
            depth += 1
        elif char == "(":
            depth -= 1
            if depth == 0:
                if index == 0 or text[index - 1] != " ":
                    return None, text
                return text[index + 1 : -1], text[:index].rstrip()
    return None, text


@dataclass(frozen=True)
class MappingEntry:
    """One line of the process memory map (/proc/<pid>/maps) as a tombstone records it."""

    begin: int
    end: int  # exclusive
    offset: int
    readable: bool
    name: str
    build_id: str = ""


@dataclass
class _Module:
    name: str
    build_id: str
    begin: int
    end: int


def images_from_mappings(mappings: Iterable[MappingEntry], arch: str) -> list[pb.Image]:
    """Coalesce memory mappings into ELF images, as sentry-java and sentry-native do.

    An image spans all readable mappings of one file, from the mapping that
    starts the ELF file up to the last one, so that its address range covers
    every segment. A mapping with a build id starts a new image unless it
    continues the current one (same file and build id, which also covers the
    several offset-0 mappings that Android's linker makes of one library).
    Unlike sentry-java, the first mapping need not have offset 0, because
    libraries that the loader maps straight out of the APK start at their
    offset inside the APK. Mappings without a build id only extend the image
    of their file. Files without a build id get no image, because no debug
    file could be matched to them.
    """
    modules: list[_Module] = []
    current: _Module | None = None
    for mapping in mappings:
        if not mapping.readable or not mapping.name or mapping.name.startswith("/dev/"):
            continue
        build_id = normalize_code_id(mapping.build_id)
        if current is not None and mapping.name == current.name and build_id in ("", current.build_id):
            current.end = max(current.end, mapping.end)
        elif build_id:
            current = _Module(mapping.name, build_id, mapping.begin, mapping.end)
            modules.append(current)
    return [elf_image(module.name, module.build_id, module.begin, module.end - module.begin, arch) for module in modules]


def elf_image(code_file: str, build_id: str, image_addr: int, image_size: int, arch: str) -> pb.Image:
    """Build an ELF image whose debug id is the build id's first 16 bytes read as a little-endian GUID."""
    return pb.Image(
        type=pb.IMAGE_TYPE_ELF,
        code_file=code_file,
        code_id=build_id,
        debug_id=debug_id_from_build_id(build_id),
        image_addr=image_addr,
        image_size=image_size,
        arch=arch,
    )


def placeholder_images(entries: Iterable[NativeFrameEntry], arch: str) -> list[pb.Image]:
    """Build one image per file and build id named by the frames, at placeholder load addresses.

    Text backtraces print only offsets inside each file (``rel_pc``). Giving
    each image a distinct made-up load address keeps ``instruction_addr -
    image_addr`` equal to that offset, which is all symbolication needs.
    """
    images: list[pb.Image] = []
    seen: set[tuple[str, str]] = set()
    for entry in entries:
        build_id = normalize_code_id(entry.build_id)
        key = (entry.file_name, build_id)
        if not build_id or key in seen:
            continue
        seen.add(key)
        images.append(elf_image(entry.file_name, build_id, (len(images) + 1) * _PLACEHOLDER_SPACING, 0, arch))
    return images


class ImageResolver:
    """Finds the image of a native frame by build id and file name, and computes the frame's address."""

    def __init__(self, images: Sequence[pb.Image]) -> None:
        self._by_key: dict[tuple[str, str], pb.Image] = {}
        self._by_build_id: dict[str, pb.Image] = {}
        for image in images:
            if image.type != pb.IMAGE_TYPE_ELF or not image.code_id:
                continue
            self._by_key.setdefault((image.code_file, image.code_id), image)
            self._by_build_id.setdefault(image.code_id, image)

    def locate(self, entry: NativeFrameEntry) -> tuple[int, int] | None:
        """Return the frame's absolute address and its image's load address, or None without an image.

        ``rel_pc`` is the ELF virtual address of the instruction, and the image
        starts where the file's first segment (virtual address 0 in Android
        libraries and executables, which are position independent) is mapped.
        """
        build_id = normalize_code_id(entry.build_id)
        if not build_id:
            return None
        image = self._by_key.get((entry.file_name, build_id)) or self._by_build_id.get(build_id)
        if image is None:
            return None
        return image.image_addr + entry.rel_pc, image.image_addr


def native_frame(entry: NativeFrameEntry, resolver: ImageResolver) -> pb.Frame:
    """Convert a libunwindstack frame, taking its address from its image, or else from ``pc``."""
    frame = pb.Frame(platform=PLATFORM_NATIVE, address_mode=ADDRESS_MODE_EXACT, package=entry.file_name)
    located = resolver.locate(entry)
    if located is not None:
        frame.instruction_addr, frame.image_addr = located
    elif entry.pc is not None:
        frame.instruction_addr = entry.pc
    if entry.function_name:
        frame.function = entry.function_name
        if frame.instruction_addr >= entry.function_offset and frame.instruction_addr:
            frame.symbol_addr = frame.instruction_addr - entry.function_offset
    return frame


def java_frame(class_name: str, method: str, filename: str, lineno: int) -> pb.Frame:
    """Build a Java or Kotlin frame whose ``package`` is the class's package, as for Sentry's Java frames."""
    package, _, _ = class_name.rpartition(".")
    return pb.Frame(
        platform=PLATFORM_JAVA,
        module=class_name,
        function=method,
        filename=filename,
        lineno=lineno,
        package=package,
        lang="kotlin" if filename.endswith(".kt") else "java",
    )


def trim_frames(frames: list[pb.Frame]) -> list[pb.Frame]:
    """Keep the innermost and outermost halves of a stack deeper than ``MAX_FRAMES``, as for Sentry events."""
    if len(frames) <= MAX_FRAMES:
        return frames
    half = MAX_FRAMES // 2
    return frames[:half] + frames[-half:]
