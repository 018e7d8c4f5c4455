"""Classify a report as a crash, an ANR, a hang, a MetricKit CPU or disk-write exception, or a handled error."""

from service.schema import crash_report_pb2 as pb

CRASH = "crash"
ANR = "anr"
HANG = "hang"
CPU = "cpu"
DISK_WRITE = "disk_write"
ERROR = "error"

# Mechanism types (lowercase) of Android ANRs: sentry-android's watchdog
# ("ANR") and its ApplicationExitInfo integration ("AppExitInfo", which it
# uses only for ANRs), and the reason-specific types some versions send.
_ANR_MECHANISMS = {"anr", "appexitinfo", "anr_foreground", "anr_background"}
_ANR_TYPES = {"applicationnotresponding", "anr"}
# sentry-cocoa reports hangs with mechanism "AppHang" and types such as
# "App Hanging", "App Hang Fully Blocked", "App Hang Non Fully Blocked".
# MetricKit hang diagnostics get "mx_hang_diagnostic" from service.formats.metrickit.
_HANG_MECHANISMS = {"apphang", "app_hang", "hang", "mx_hang_diagnostic"}
_HANG_TYPE_PREFIXES = ("app hang",)
# MetricKit CPU and disk-write exception diagnostics (service.formats.metrickit).
_CPU_MECHANISMS = {"mx_cpu_exception_diagnostic"}
_DISK_WRITE_MECHANISMS = {"mx_disk_write_exception_diagnostic"}
# Mechanisms that only fire when the process dies.
_CRASH_MECHANISMS = {"signal", "mach", "nsexception", "cpp_exception", "signalhandler", "uncaughtexceptionhandler",
                     "tombstone", "minidump", "watchdog_termination", "crash"}


def classify(report: pb.CrashReport) -> str:
    """Return the issue type from the first exception's mechanism, its type and the level.

    ANR, hang and the MetricKit resource diagnostics come first, because
    SDKs set ``handled`` inconsistently for them. Then an explicit ``handled`` decides, then the
    mechanism type, then a fatal level.
    """
    if report.exceptions:
        exception = report.exceptions[0]
        mechanism = exception.mechanism
        mechanism_type = mechanism.type.lower()
        exception_type = exception.type.lower()
        if mechanism_type in _ANR_MECHANISMS or exception_type in _ANR_TYPES:
            return ANR
        if mechanism_type in _HANG_MECHANISMS or exception_type.startswith(_HANG_TYPE_PREFIXES):
            return HANG
        if mechanism_type in _CPU_MECHANISMS:
            return CPU
        if mechanism_type in _DISK_WRITE_MECHANISMS:
            return DISK_WRITE
        if mechanism.HasField("handled"):
            return ERROR if mechanism.handled else CRASH
        if mechanism_type in _CRASH_MECHANISMS:
            return CRASH
    return CRASH if report.level == pb.LEVEL_FATAL else ERROR
