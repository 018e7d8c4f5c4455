"""The Symbolicator: resolves every frame of a report through the symbol store."""

from __future__ import annotations

from collections.abc import Mapping, MutableSequence

from service.schema import crash_report_pb2 as pb
from symbolication.java import JavaFrames
from symbolication.model import FindDebugFile, SymbolicationResult
from symbolication.native import NativeFrames
from symbolication.store import SymbolStore


class Symbolicator:
    """Symbolicates reports with debug files found through `find_debug_file(kind, debug_id)`.

    One instance may serve many reports and threads; the store is thread-safe and the
    per-report state lives in the symbolicate() call.
    """

    def __init__(self, store: SymbolStore, find_debug_file: FindDebugFile) -> None:
        self._store = store
        self._find_debug_file = find_debug_file

    def symbolicate(self, report: pb.CrashReport) -> SymbolicationResult:
        """Symbolicate the frames of all threads and exceptions in place.

        Every frame gets a status and every image a status with a detail. Java
        exception classes are remapped too. The result lists the debug files that were
        needed but missing or unreadable.

        NOTE: pass a freshly parsed report. A second call would expand inlined frames
        again and remap already remapped Java names.
        """
        result = SymbolicationResult()
        native = NativeFrames(self._store, self._find_debug_file, report, result)
        java = JavaFrames(self._store, self._find_debug_file, report, result)

        for thread in report.threads:
            _symbolicate_frames(thread.frames, thread.registers, native, java, result)
        for exception in report.exceptions:
            _symbolicate_frames(exception.frames, {}, native, java, result)
            java.remap_exception(exception)
        java.remap_locks(report)

        native.finish()
        java.finish()
        return result


def _symbolicate_frames(
    frames: MutableSequence[pb.Frame],
    registers: Mapping[str, int],
    native: NativeFrames,
    java: JavaFrames,
    result: SymbolicationResult,
) -> None:
    replaced: list[pb.Frame] = []
    for position, frame in enumerate(frames):
        if JavaFrames.is_java_frame(frame):
            expanded = java.symbolicate(frame)
        else:
            expanded = native.symbolicate(frame, position=position, registers=registers)
        result.total_frames += 1
        if expanded[0].status == pb.FRAME_STATUS_SYMBOLICATED:
            result.symbolicated_frames += 1
        replaced.extend(expanded)
    del frames[:]
    frames.extend(replaced)
