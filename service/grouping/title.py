"""Issue title and culprit, in the forms Sentry users know.

Title: ``EXC_BAD_ACCESS: KERN_INVALID_ADDRESS at 0x10``,
``java.lang.IllegalStateException: Fragment not attached``, with the message
cut to its first line. Culprit: the first in-app frame, ``Class.method
(File.java)`` for Java, ``function (file)`` for native code.
"""

import posixpath

from service.grouping.frames import is_java_frame, name_frame, primary_frames
from service.schema import crash_report_pb2 as pb

MAX_TITLE_MESSAGE_CHARS = 120
FALLBACK_TITLE = "Unknown error"


def exception_type_name(exception: pb.ExceptionInfo) -> str:
    """Return the exception's type, qualified with its Java module, or the signal name when untyped."""
    type_name = exception.type
    if exception.module and type_name and not type_name.startswith(exception.module + "."):
        type_name = f"{exception.module}.{type_name}"
    if not type_name:
        type_name = exception.mechanism.mach_exception.name or exception.mechanism.signal.name
    return type_name


def make_title(report: pb.CrashReport) -> str:
    """Return ``type: first line of the value`` for exceptions, else the message's first line."""
    if report.exceptions:
        exception = report.exceptions[0]
        type_name = exception_type_name(exception) or "Error"
        value = _first_line(exception.value)
        return f"{type_name}: {value}" if value else type_name
    return _first_line(report.message) or FALLBACK_TITLE


def make_culprit(report: pb.CrashReport) -> str:
    """Return the first in-app frame with a name, or the first named frame when none is in-app."""
    frames = primary_frames(report)
    for exception in list(report.exceptions)[1:]:
        frames.extend(exception.frames)
    candidates = [frame for frame in frames if frame.in_app] + [frame for frame in frames if not frame.in_app]
    for frame in candidates:
        culprit = _describe(frame)
        if culprit:
            return culprit
    return ""


def _describe(frame: pb.Frame) -> str:
    if is_java_frame(frame):
        if not frame.function:
            return ""
        location = f"{frame.module}.{frame.function}" if frame.module else frame.function
    else:
        location = name_frame(frame).normalized
        if not location:
            return ""
    filename = posixpath.basename(frame.filename or frame.abs_path)
    return f"{location} ({filename})" if filename else location


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0].strip() if text.strip() else ""
    if len(line) > MAX_TITLE_MESSAGE_CHARS:
        line = line[: MAX_TITLE_MESSAGE_CHARS - 1].rstrip() + "\u2026"
    return line
