"""Pick the stack that a report is grouped by, and name its frames."""

import posixpath
from dataclasses import dataclass

from service.grouping.normalize import normalize_java_name, normalize_native_name
from service.schema import crash_report_pb2 as pb


@dataclass(frozen=True)
class FrameName:
    """A frame's normalized name, what normalization removed, and a label for display."""

    normalized: str
    removed: tuple[str, ...]
    display: str


def crashing_thread(report: pb.CrashReport) -> pb.Thread | None:
    """Return the thread that crashed: flagged ``crashed``, else the exception's, else the current one."""
    for thread in report.threads:
        if thread.crashed:
            return thread
    if report.exceptions and report.exceptions[0].HasField("thread_id"):
        for thread in report.threads:
            if thread.id == report.exceptions[0].thread_id:
                return thread
    for thread in report.threads:
        if thread.current:
            return thread
    if len(report.threads) == 1:
        return report.threads[0]
    return None


def primary_frames(report: pb.CrashReport) -> list[pb.Frame]:
    """Return the frames the report is grouped by: ``exceptions[0].frames`` if any, else the crashing thread's."""
    if report.exceptions and report.exceptions[0].frames:
        return list(report.exceptions[0].frames)
    thread = crashing_thread(report)
    return list(thread.frames) if thread is not None else []


def is_java_frame(frame: pb.Frame) -> bool:
    """Return whether a frame is a JVM frame, by its platform or, when unset, by its fields."""
    if frame.platform:
        return frame.platform == "java"
    return bool(frame.module) and not frame.instruction_addr


def name_frame(frame: pb.Frame) -> FrameName:
    """Return the normalized name of a frame, empty when it has no function name."""
    if is_java_frame(frame):
        normalized, removed = normalize_java_name(frame.module, frame.function)
        display = f"{frame.module}.{frame.function}" if frame.module and frame.function else normalized
        return FrameName(normalized, tuple(removed), display)
    function = frame.function or frame.raw_function
    normalized, removed = normalize_native_name(function) if function else ("", [])
    display = normalized or image_name(frame) or (f"0x{frame.instruction_addr:x}" if frame.instruction_addr else "?")
    return FrameName(normalized, tuple(removed), display)


def image_name(frame: pb.Frame) -> str:
    """Return the file name of a native frame's image (``UIKitCore``), or ``""``."""
    if is_java_frame(frame) or not frame.package:
        return ""
    return posixpath.basename(frame.package.rstrip("/"))
