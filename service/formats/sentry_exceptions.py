"""Convert the Sentry ``exception`` interface and its ``mechanism``.

Sentry lists chained exceptions oldest first: the root cause comes first and
the exception that ended the process last. The canonical model turns that
around (``exceptions[0]`` ended the process, the rest are its causes).
"""

from typing import Any

from service.formats.sentry_frames import convert_stacktrace
from service.formats.sentry_values import (
    as_dict,
    as_dicts,
    as_text,
    parse_bool,
    parse_code64,
    parse_int32,
    parse_int64,
    parse_uint64,
)
from service.schema import crash_report_pb2 as pb

# Signal numbers that are the same on Darwin and Linux.
_COMMON_SIGNALS = {1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT",
                   8: "SIGFPE", 9: "SIGKILL", 11: "SIGSEGV", 13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM"}
_DARWIN_SIGNALS = {7: "SIGEMT", 10: "SIGBUS", 12: "SIGSYS"}
_LINUX_SIGNALS = {7: "SIGBUS", 10: "SIGUSR1", 12: "SIGUSR2", 31: "SIGSYS"}

# Mach exception types from <mach/exception_types.h>.
_MACH_EXCEPTIONS = {1: "EXC_BAD_ACCESS", 2: "EXC_BAD_INSTRUCTION", 3: "EXC_ARITHMETIC", 4: "EXC_EMULATION",
                    5: "EXC_SOFTWARE", 6: "EXC_BREAKPOINT", 7: "EXC_SYSCALL", 8: "EXC_MACH_SYSCALL",
                    9: "EXC_RPC_ALERT", 10: "EXC_CRASH", 11: "EXC_RESOURCE", 12: "EXC_GUARD",
                    13: "EXC_CORPSE_NOTIFY"}


def convert_exceptions(
    exception: Any, default_platform: str, report_platform: pb.Platform
) -> list[pb.ExceptionInfo]:
    """Convert the exception list, returning the exception that ended the process first."""
    converted = [_convert_exception(raw, default_platform, report_platform) for raw in as_dicts(exception)]
    converted.reverse()
    return converted


def _convert_exception(raw: dict[str, Any], default_platform: str, report_platform: pb.Platform) -> pb.ExceptionInfo:
    info = pb.ExceptionInfo(
        type=as_text(raw.get("type")),
        value=as_text(raw.get("value")),
        module=as_text(raw.get("module")),
    )
    thread_id = parse_int64(raw.get("thread_id"))
    if thread_id is not None:
        info.thread_id = thread_id
    mechanism = raw.get("mechanism")
    if isinstance(mechanism, dict):
        info.mechanism.CopyFrom(convert_mechanism(mechanism, report_platform))
    info.frames.extend(convert_stacktrace(raw.get("stacktrace"), default_platform))
    return info


def convert_mechanism(raw: dict[str, Any], report_platform: pb.Platform) -> pb.Mechanism:
    """Convert a mechanism, reading both the current ``meta`` layout and the legacy one.

    sentry-swift 1.x put ``posix_signal``, ``mach_exception`` (with
    ``exception_name``) and ``relevant_address`` directly on the mechanism and
    sent no ``type``, so the type is inferred from what is present.
    """
    mechanism = pb.Mechanism(type=as_text(raw.get("type")), description=as_text(raw.get("description")))
    handled = parse_bool(raw.get("handled"))
    if handled is not None:
        mechanism.handled = handled

    meta = as_dict(raw.get("meta"))
    signal = as_dict(meta.get("signal")) or as_dict(raw.get("posix_signal"))
    if signal:
        mechanism.signal.CopyFrom(_convert_signal(signal, report_platform))
    mach = as_dict(meta.get("mach_exception")) or as_dict(raw.get("mach_exception"))
    if mach:
        mechanism.mach_exception.CopyFrom(_convert_mach_exception(mach))
    if not mechanism.type and mach:
        mechanism.type = "mach"
    elif not mechanism.type and signal:
        mechanism.type = "signal"

    address = as_dict(raw.get("data")).get("relevant_address", raw.get("relevant_address"))
    fault_address = parse_uint64(address)
    if fault_address is not None:
        mechanism.fault_address = fault_address
    return mechanism


def _convert_signal(raw: dict[str, Any], report_platform: pb.Platform) -> pb.Signal:
    number = parse_int32(raw.get("number"))
    if number is None:
        number = parse_int32(raw.get("signal"))
    signal = pb.Signal(number=number or 0, name=as_text(raw.get("name")), code_name=as_text(raw.get("code_name")))
    signal.code = parse_int32(raw.get("code")) or 0
    if not signal.name and number is not None:
        signal.name = signal_name(number, report_platform)
    return signal


def _convert_mach_exception(raw: dict[str, Any]) -> pb.MachException:
    exception = parse_int64(raw.get("exception")) or 0
    name = as_text(raw.get("name")) or as_text(raw.get("exception_name")) or _MACH_EXCEPTIONS.get(exception, "")
    return pb.MachException(
        exception=exception,
        name=name,
        code=parse_code64(raw.get("code")) or 0,
        subcode=parse_code64(raw.get("subcode")) or 0,
    )


def signal_name(number: int, report_platform: pb.Platform) -> str:
    """Return the POSIX name of a signal number, or ``""`` when it differs by OS and the OS is unknown."""
    if number in _COMMON_SIGNALS:
        return _COMMON_SIGNALS[number]
    if report_platform == pb.PLATFORM_APPLE:
        return _DARWIN_SIGNALS.get(number, "")
    if report_platform == pb.PLATFORM_ANDROID:
        return _LINUX_SIGNALS.get(number, "")
    return ""
