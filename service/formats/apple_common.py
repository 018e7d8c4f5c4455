"""Pieces shared by the Apple crash formats: .ips, .crash text, MetricKit, KSCrash and SentryCrash.

Every converter here builds a report with ``platform = PLATFORM_APPLE``.
Facts a triager needs that the canonical model has no field for go into
``custom_keys``, which the scrub step cleans like any other custom key:
``termination_reason`` (also the mechanism description),
``application_specific_information``, ``exception_note``, ``vm_region_info``,
``kernel_triage`` and ``crash_diagnosis``.
"""

from __future__ import annotations

import bisect
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

from service.formats.sentry_exceptions import _MACH_EXCEPTIONS, signal_name
from service.formats.sentry_frames import MAX_FRAMES
from service.formats.sentry_images import normalize_debug_id
from service.formats.sentry_values import truncate
from service.schema import crash_report_pb2 as pb

PARSE_STEP = "parse"
MAX_CUSTOM_VALUE_CHARS = 4096

KEY_TERMINATION_REASON = "termination_reason"
KEY_APPLICATION_SPECIFIC_INFORMATION = "application_specific_information"
KEY_EXCEPTION_NOTE = "exception_note"
KEY_VM_REGION_INFO = "vm_region_info"
KEY_KERNEL_TRIAGE = "kernel_triage"
KEY_CRASH_DIAGNOSIS = "crash_diagnosis"

MECHANISM_MACH = "mach"
MECHANISM_SIGNAL = "signal"
MECHANISM_NSEXCEPTION = "nsexception"
MECHANISM_CPP_EXCEPTION = "cpp_exception"

# Caller frames whose address is a return address (every frame of a
# "Last Exception Backtrace", which backtrace() captured inside the throw).
ADDRESS_MODE_RETURN = "return"

# Mach exception numbers by name, from the Sentry converter's table of <mach/exception_types.h>.
MACH_EXCEPTION_NUMBERS = {name: number for number, name in _MACH_EXCEPTIONS.items()}
# Darwin signal numbers by name, from the same table the Sentry converter uses.
SIGNAL_NUMBERS = {
    name: number for number in range(1, 32) if (name := signal_name(number, pb.PLATFORM_APPLE))
}
# kern_return_t values from <mach/kern_return.h> that appear as the first code
# of EXC_BAD_ACCESS, and the ARM data-abort codes from <mach/arm/exception.h>.
KERN_CODE_NUMBERS = {
    "KERN_INVALID_ADDRESS": 1,
    "KERN_PROTECTION_FAILURE": 2,
    "KERN_MEMORY_FAILURE": 9,
    "KERN_MEMORY_ERROR": 10,
    "EXC_ARM_DA_ALIGN": 0x101,
    "EXC_ARM_DA_DEBUG": 0x102,
}

# OS names as crash reports spell them, mapped to the names Sentry uses.
_OS_NAMES = {"iphone os": "iOS", "ios": "iOS", "ipados": "iPadOS", "mac os x": "macOS", "macos": "macOS",
             "os x": "macOS", "watch os": "watchOS", "watchos": "watchOS", "tvos": "tvOS", "apple tvos": "tvOS",
             "visionos": "visionOS", "xros": "visionOS"}
_OS_VERSION = re.compile(r"^(?P<name>.*?)\s*(?P<version>\d+(?:\.\d+)*)\s*(?:\((?P<build>[^)]*)\))?\s*$")
# "ARM-64", "ARM-64 (Native)", "X86-64 (Translated)" and KSCrash's plain "ARM".
_CODE_TYPES = {"arm-64": "arm64", "arm64": "arm64", "arm64e": "arm64e", "arm-64e": "arm64e", "arm64_32": "arm64_32",
               "arm-64_32": "arm64_32", "arm": "arm", "x86-64": "x86_64", "x86_64": "x86_64", "x86": "x86",
               "i386": "x86", "ppc": "ppc"}
_DATE_TIME = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[ T](?P<time>\d{2}:\d{2}:\d{2})(?:\.(?P<fraction>\d+))?\s*(?P<zone>[+-]\d{2}:?\d{2}|Z)?"
)
_ADDRESS_AFTER_AT = re.compile(r"\bat (0x[0-9a-fA-F]+)")
_UNCAUGHT_EXCEPTION = re.compile(
    r"Terminating app due to uncaught exception '(?P<name>[^']+)', reason: '(?P<reason>.*)'", re.DOTALL
)
# An installation key: CrashReporter Key and KSCrash's device_app_hash are 40 hex digits.
_INSTALLATION_KEY = re.compile(r"[0-9a-fA-F]{16,64}")
# Function names that carry no information. sentry-cocoa writes "<redacted>" for system symbols it could not read.
_PLACEHOLDER_FUNCTIONS = {"<redacted>", "<unknown>", "???", "??", "?"}


@dataclass
class CrashCause:
    """The cause of a crash as the Apple formats describe it, before it becomes an ExceptionInfo."""

    mach_name: str = ""
    mach_number: int | None = None
    code: int | None = None
    subcode: int | None = None
    # e.g. "KERN_INVALID_ADDRESS at 0x0" (Exception Subtype), used as the exception value.
    code_description: str = ""
    signal_name: str = ""
    signal_number: int | None = None
    signal_code: int | None = None
    signal_code_name: str = ""
    fault_address: int | None = None
    # An NSException or C++ exception that caused the abort.
    exception_name: str = ""
    exception_reason: str = ""
    exception_mechanism: str = ""
    message: str = ""
    termination_reason: str = ""
    thread_id: int | None = None
    frames: list[pb.Frame] = field(default_factory=list)


def new_report(source_format: str, received_at: datetime) -> pb.CrashReport:
    """Start a fatal Apple report whose timestamp is ``received_at`` until the report gives its own."""
    report = pb.CrashReport(source_format=source_format, platform=pb.PLATFORM_APPLE, level=pb.LEVEL_FATAL)
    set_timestamp(report, received_at)
    return report


def set_timestamp(report: pb.CrashReport, moment: datetime | None) -> None:
    if moment is None:
        return
    report.timestamp.FromDatetime(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


def add_note(report: pb.CrashReport, message: str) -> None:
    report.notes.add(step=PARSE_STEP, message=message)


def set_custom_key(report: pb.CrashReport, key: str, value: str) -> None:
    value = value.strip()
    if value:
        report.custom_keys[key] = truncate(value, MAX_CUSTOM_VALUE_CHARS)


def event_id_from_uuid(text: str) -> str:
    """Return an incident or report UUID as the 32 lowercase hex digits of an event id, or ``""``."""
    try:
        return uuid.UUID(text.strip()).hex
    except (ValueError, AttributeError):
        return ""


def debug_id_and_code_id(text: str) -> tuple[str, str]:
    """Return a Mach-O UUID (dashed or 32 hex digits) as a debug id and a code id, or two empty strings.

    The all-zero UUID that reports use for unknown images gives two empty strings.
    """
    debug_id = normalize_debug_id(text)
    if not debug_id or debug_id == str(uuid.UUID(int=0)):
        return "", ""
    return debug_id, debug_id.replace("-", "")


def set_app(report: pb.CrashReport, bundle_id: str, name: str, version: str, build: str) -> None:
    """Set the app fields and the release ``bundle@version+build`` that Sentry's Apple SDK would send."""
    app = report.app
    app.bundle_id = app.bundle_id or bundle_id.strip()
    app.name = app.name or name.strip()
    app.version = app.version or version.strip()
    app.build = app.build or build.strip()
    if not app.release and app.bundle_id and app.version:
        app.release = f"{app.bundle_id}@{app.version}" + (f"+{app.build}" if app.build else "")


def parse_os_version(text: str) -> tuple[str, str, str]:
    """Split ``iPhone OS 14.5.1 (18E212)`` into ``("iOS", "14.5.1", "18E212")``.

    An unknown OS name is kept as written. Text without a version number gives
    the whole text as the name.
    """
    text = text.strip()
    match = _OS_VERSION.match(text)
    if not match:
        return os_name(text), "", ""
    return os_name(match["name"]), match["version"], (match["build"] or "").strip()


def os_name(text: str) -> str:
    text = text.strip()
    return _OS_NAMES.get(text.lower(), text)


def set_os(report: pb.CrashReport, text: str, build: str = "") -> None:
    name, version, parsed_build = parse_os_version(text)
    report.os.name = report.os.name or name
    report.os.version = report.os.version or version
    report.os.build = report.os.build or build or parsed_build


def arch_from_code_type(text: str) -> str:
    """Return the architecture of a ``Code Type`` or ``cpuType`` value, such as ``ARM-64 (Native)``."""
    key = text.split("(")[0].strip().lower()
    return _CODE_TYPES.get(key, "")


def set_device_arch(report: pb.CrashReport, arch: str) -> None:
    if arch and not report.device.archs:
        report.device.archs.append(arch)


def set_installation_id(report: pb.CrashReport, key: str) -> None:
    """Put a device or installation key into ``user.id_hash`` (the scrub step hashes it).

    Only keys of 16 to 64 hex digits are taken, so placeholders such as
    ``CRASHREPORTER_KEY`` in anonymized reports are not counted as one user.
    """
    key = key.strip()
    if not report.user.id_hash and _INSTALLATION_KEY.fullmatch(key):
        report.user.id_hash = key.lower()


def parse_apple_datetime(text: str) -> datetime | None:
    """Read ``2022-01-21 18:14:25.9296 +0200`` (fraction and zone optional; no zone means UTC)."""
    match = _DATE_TIME.search(text)
    if not match:
        return None
    fraction = (match["fraction"] or "")[:6].ljust(6, "0")
    try:
        moment = datetime.fromisoformat(f"{match['date']}T{match['time']}.{fraction}")
    except ValueError:
        return None
    zone = match["zone"]
    if not zone or zone == "Z":
        return moment.replace(tzinfo=UTC)
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return moment.replace(tzinfo=timezone(sign * offset)).astimezone(UTC)


def fault_address_from(text: str) -> int | None:
    """Return the address of ``KERN_INVALID_ADDRESS at 0x10``, or ``None``."""
    match = _ADDRESS_AFTER_AT.search(text)
    return int(match.group(1), 16) if match else None


def bad_access_description(mach_number: int | None, code: int | None, address: int | None) -> str:
    """Describe an EXC_BAD_ACCESS as Apple's Exception Subtype does: ``KERN_INVALID_ADDRESS at 0x0``."""
    if mach_number != MACH_EXCEPTION_NUMBERS["EXC_BAD_ACCESS"] or code is None:
        return ""
    name = next((name for name, number in KERN_CODE_NUMBERS.items() if number == code), "")
    if not name:
        return ""
    return f"{name} at {address:#x}" if address is not None else name


def uncaught_exception(lines: list[str]) -> tuple[str, str]:
    """Find ``Terminating app due to uncaught exception 'Name', reason: '...'`` in application-specific lines."""
    match = _UNCAUGHT_EXCEPTION.search("\n".join(lines))
    if not match:
        return "", ""
    return match["name"], match["reason"]


def reported_function(name: str) -> str:
    """Return a function name from a report, or ``""`` for a placeholder such as ``<redacted>``."""
    name = name.strip()
    return "" if name in _PLACEHOLDER_FUNCTIONS else name


def trim_frames(frames: list[pb.Frame]) -> list[pb.Frame]:
    """Keep the innermost and outermost halves of a stack longer than ``MAX_FRAMES`` (deep recursion)."""
    if len(frames) <= MAX_FRAMES:
        return frames
    half = MAX_FRAMES // 2
    return frames[:half] + frames[-half:]


def build_exception(cause: CrashCause) -> pb.ExceptionInfo:
    """Build ``exceptions[0]`` in Sentry's shape.

    An NSException or C++ exception gives the type and value, with the Mach
    exception and signal kept in the mechanism. Otherwise the type is the Mach
    exception name (or the signal name) and the value is the code description,
    e.g. ``EXC_BAD_ACCESS`` and ``KERN_INVALID_ADDRESS at 0x0``.
    """
    mach_name = cause.mach_name or _MACH_EXCEPTIONS.get(cause.mach_number or 0, "")
    mach_number = cause.mach_number if cause.mach_number is not None else MACH_EXCEPTION_NUMBERS.get(mach_name)
    signal = cause.signal_name or (signal_name(cause.signal_number, pb.PLATFORM_APPLE) if cause.signal_number else "")
    signal_number = cause.signal_number if cause.signal_number is not None else SIGNAL_NUMBERS.get(signal)

    exception = pb.ExceptionInfo()
    if cause.exception_name:
        exception.type = cause.exception_name
        exception.value = cause.exception_reason
        mechanism_type = cause.exception_mechanism or MECHANISM_NSEXCEPTION
    else:
        exception.type = mach_name or signal
        exception.value = cause.code_description or cause.message or (signal if mach_name else "")
        mechanism_type = MECHANISM_MACH if mach_name else MECHANISM_SIGNAL
    if cause.thread_id is not None:
        exception.thread_id = cause.thread_id
    exception.frames.extend(cause.frames)

    mechanism = exception.mechanism
    mechanism.type = mechanism_type
    mechanism.handled = False
    mechanism.description = cause.termination_reason
    if mach_name or mach_number:
        mechanism.mach_exception.CopyFrom(
            pb.MachException(exception=mach_number or 0, name=mach_name, code=_unsigned(cause.code), subcode=_unsigned(cause.subcode))
        )
    if signal or signal_number:
        mechanism.signal.CopyFrom(
            pb.Signal(number=signal_number or 0, name=signal, code=cause.signal_code or 0, code_name=cause.signal_code_name)
        )
    if cause.fault_address is not None:
        mechanism.fault_address = cause.fault_address
    return exception


def _unsigned(value: int | None) -> int:
    return (value or 0) & 0xFFFF_FFFF_FFFF_FFFF


def fill_frame_packages(report: pb.CrashReport) -> None:
    """Set each native frame's ``package`` and ``image_addr`` from the image that contains its address.

    Frames that already name an image path keep it. Reports that name the
    image only by its short name (``UIKitCore``) get the full path here.
    """
    images = sorted((image for image in report.images if image.image_addr), key=lambda image: image.image_addr)
    starts = [image.image_addr for image in images]
    frame_lists = [thread.frames for thread in report.threads] + [exception.frames for exception in report.exceptions]
    for frames in frame_lists:
        for frame in frames:
            image = _image_at(images, starts, frame.instruction_addr)
            if image is None:
                continue
            if image.code_file and not frame.package.startswith("/"):
                frame.package = image.code_file
            frame.image_addr = image.image_addr


def _image_at(images: list[pb.Image], starts: list[int], address: int) -> pb.Image | None:
    if not address:
        return None
    index = bisect.bisect_right(starts, address) - 1
    if index < 0:
        return None
    image = images[index]
    if image.image_size and address >= image.image_addr + image.image_size:
        return None
    return image
