"""Remapping of Java and Kotlin frames and exception classes through ProGuard/R8 mappings.

The mappings are the report's images of type PROGUARD, whose debug_id is the mapping
UUID. Frame statuses:

- SYMBOLICATED: a mapping renamed the frame's class, method or line.
- MISSING_SYMBOLS: no mapping renamed it and a mapping the report names was not
  uploaded. MALFORMED_SYMBOLS: the same, but the uploaded mapping cannot be read.
  Classes of the Android platform get NOT_APPLICABLE instead, because no app mapping
  lists them.
- NOT_APPLICABLE: the report names no mapping, or the mappings do not list the class.
  ProGuard lists every class it processed, kept ones included, so an unlisted class
  still has its original name.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from symbolic.proguard import JavaStackFrame

from service.schema import crash_report_pb2 as pb
from symbolication.lists import matches_prefix_list
from symbolication.model import DebugFileRef, FindDebugFile, SymbolicationResult
from symbolication.store import ProguardMapping, SymbolFileError, SymbolStore

logger = logging.getLogger("shindan.symbols")

# Source file names that R8 and ProGuard write in place of the real one.
_PLACEHOLDER_SOURCE_FILES = frozenset({"", "SourceFile", "Unknown Source", "Unknown"})


@dataclass
class _MappingState:
    image: pb.Image
    debug_id: str
    ref: DebugFileRef | None = None
    mapping: ProguardMapping | None = None
    problem: str = ""


class JavaFrames:
    """Remaps the Java frames and exception classes of one report, then sets image statuses."""

    def __init__(
        self,
        store: SymbolStore,
        find_debug_file: FindDebugFile,
        report: pb.CrashReport,
        result: SymbolicationResult,
    ) -> None:
        self._store = store
        self._find_debug_file = find_debug_file
        self._report = report
        self._result = result
        self._proguard_images = [image for image in report.images if image.type == pb.IMAGE_TYPE_PROGUARD]
        self._states: list[_MappingState] | None = None
        self._ambiguous_frames: list[str] = []

    @staticmethod
    def is_java_frame(frame: pb.Frame) -> bool:
        if frame.platform:
            return frame.platform == "java"
        return frame.instruction_addr == 0 and bool(frame.module)

    def symbolicate(self, frame: pb.Frame) -> list[pb.Frame]:
        """Return the frames that replace `frame`: several when R8 inlined methods into it."""
        if not frame.lang:
            frame.lang = _language_of(frame.filename)
        if not self._proguard_images or not frame.module:
            frame.status = pb.FRAME_STATUS_NOT_APPLICABLE
            return [frame]

        for state in self._mapping_states():
            if state.mapping is None:
                continue
            remapped = self._remap_frame(state.mapping, frame)
            if remapped:
                return remapped

        frame.status = self._unmapped_status(frame.module)
        return [frame]

    def _unmapped_status(self, class_name: str) -> pb.FrameStatus:
        """Return the status of a frame that no loaded mapping renamed."""
        states = self._mapping_states()
        if is_android_platform_class(class_name):
            return pb.FRAME_STATUS_NOT_APPLICABLE
        if any(state.ref is None for state in states):
            return pb.FRAME_STATUS_MISSING_SYMBOLS
        if any(state.mapping is None for state in states):
            return pb.FRAME_STATUS_MALFORMED_SYMBOLS
        return pb.FRAME_STATUS_NOT_APPLICABLE

    def remap_exception(self, exception: pb.ExceptionInfo) -> None:
        """Replace an obfuscated exception class, keeping the report's split of type and module."""
        if not self._proguard_images or not exception.type:
            return
        full_name = _exception_class(exception)
        for state in self._mapping_states():
            if state.mapping is None:
                continue
            original = state.mapping.mapper.remap_class(full_name)
            if original:
                _set_exception_class(exception, original)
                return

    def remap_class_name(self, class_name: str) -> str | None:
        """Return the original name of an obfuscated class, or None when no mapping lists it."""
        if not self._proguard_images or not class_name:
            return None
        for state in self._mapping_states():
            if state.mapping is not None:
                original = state.mapping.mapper.remap_class(class_name)
                if original:
                    return str(original)
        return None

    def remap_locks(self, report: pb.CrashReport) -> None:
        """Remap the monitor classes of an ANR trace's locks, and those names in the exception value.

        An ANR trace names the lock the main thread waits for by its class, and
        the ANR converter writes that class into the exception value, which
        becomes the issue title.
        """
        renamed: dict[str, str] = {}
        for thread in report.threads:
            locks = [*thread.held_locks, *([thread.waiting_on] if thread.HasField("waiting_on") else [])]
            for lock in locks:
                original = renamed.get(lock.class_name) or self.remap_class_name(lock.class_name)
                if original:
                    renamed[lock.class_name] = original
                    lock.class_name = original
        for exception in report.exceptions:
            for obfuscated, original in renamed.items():
                exception.value = re.sub(rf"(?<![\w.$]){re.escape(obfuscated)}(?![\w$])", original, exception.value)

    def finish(self) -> None:
        """Set image statuses and add a note about frames that matched several methods."""
        if self._ambiguous_frames:
            examples = ", ".join(self._ambiguous_frames[:3])
            note = self._report.notes.add()
            note.step = "symbolicate"
            note.message = (
                f"{len(self._ambiguous_frames)} Java frame(s) match more than one method in the ProGuard "
                f"mapping, so the first match is shown: {examples}."
            )
        if self._states is None:
            for image in self._proguard_images:
                image.status = pb.IMAGE_STATUS_UNUSED
                image.status_detail = "No Java frame or exception needed this mapping."
            return
        for state in self._states:
            if state.mapping is not None:
                state.image.status = pb.IMAGE_STATUS_FOUND
                state.image.status_detail = f"ProGuard mapping {state.debug_id} found."
            elif state.ref is None:
                state.image.status = pb.IMAGE_STATUS_MISSING
                state.image.status_detail = state.problem
            else:
                state.image.status = pb.IMAGE_STATUS_MALFORMED
                state.image.status_detail = state.problem

    def _mapping_states(self) -> list[_MappingState]:
        if self._states is None:
            self._states = [self._load_mapping(image) for image in self._proguard_images]
        return self._states

    def _load_mapping(self, image: pb.Image) -> _MappingState:
        debug_id = image.debug_id.strip().lower()
        state = _MappingState(image=image, debug_id=debug_id)
        if not debug_id:
            state.problem = "The report gives no mapping UUID for this ProGuard image."
            return state
        state.ref = self._find_debug_file("proguard", debug_id)
        if state.ref is None:
            state.problem = f"No ProGuard mapping with UUID {debug_id} has been uploaded."
            self._result.add_missing("proguard", debug_id)
            return state
        try:
            state.mapping = self._store.proguard_mapping(state.ref.sha256)
        except SymbolFileError as error:
            logger.warning("Cannot use ProGuard mapping %s: %s", debug_id, error.message)
            state.problem = f"The ProGuard mapping uploaded for UUID {debug_id} cannot be used: {error.message}"
            self._result.add_malformed("proguard", debug_id)
        return state

    def _remap_frame(self, mapping: ProguardMapping, frame: pb.Frame) -> list[pb.Frame]:
        mapper = mapping.mapper
        candidates = mapper.remap_frame(frame.module, frame.function, frame.lineno)
        if candidates:
            chain = self._first_chain(mapping, frame, candidates)
            return [
                _remapped_frame(frame, candidate.class_name, candidate.method, candidate.line, candidate.file, index < len(chain) - 1)
                for index, candidate in enumerate(chain)
            ]
        method = mapper.remap_method(frame.module, frame.function)
        if method is not None:
            return [_remapped_frame(frame, method[0], method[1], None, None, False)]
        class_name = mapper.remap_class(frame.module)
        if class_name is not None:
            return [_remapped_frame(frame, class_name, frame.function, None, None, False)]
        return []

    def _first_chain(
        self, mapping: ProguardMapping, frame: pb.Frame, candidates: list[JavaStackFrame]
    ) -> list[JavaStackFrame]:
        """Return the first candidate's inline chain from remap_frame's flat list.

        remap_frame lists inlined callers and alternative candidates alike. The mapping's
        own lines tell them apart; when that reading disagrees with symbolic's list, the
        whole list is taken as one chain.
        """
        if len(candidates) == 1:
            return candidates
        chains = mapping.layout.get().candidate_chains(frame.module, frame.function, frame.lineno)
        flattened = [pair for chain in chains for pair in chain]
        if flattened != [(candidate.class_name, candidate.method) for candidate in candidates]:
            return candidates
        if len(chains) > 1:
            self._ambiguous_frames.append(f"{frame.module}.{frame.function}:{frame.lineno}")
        return candidates[: len(chains[0])]


def _remapped_frame(
    frame: pb.Frame, class_name: str, method: str, line: int | None, source_file: str | None, inlined: bool
) -> pb.Frame:
    remapped = pb.Frame()
    remapped.CopyFrom(frame)
    if not remapped.raw_function:
        remapped.raw_function = f"{frame.module}.{frame.function}"
    remapped.module = class_name
    remapped.function = method
    # A remapped frame gets the mapping's line, even 0: the obfuscated line number
    # counts positions in the obfuscated method and means nothing in the original one.
    # Only the class-or-method fallbacks (line None) keep what the frame had.
    if line is not None:
        remapped.lineno = line
    filename = _source_file_name(frame, class_name, source_file)
    if filename != frame.filename:
        remapped.filename = filename
        remapped.abs_path = filename
    if not frame.package or frame.package == _package_of(frame.module):
        remapped.package = _package_of(class_name)
    remapped.lang = _language_of(remapped.filename)
    remapped.inlined = inlined
    remapped.status = pb.FRAME_STATUS_SYMBOLICATED
    return remapped


def _source_file_name(frame: pb.Frame, class_name: str, source_file: str | None) -> str:
    if source_file:
        return source_file
    if class_name == frame.module and frame.filename not in _PLACEHOLDER_SOURCE_FILES:
        return frame.filename
    # Without a file name in the mapping, take the outer class's simple name, as javac names files.
    outer_class = class_name.rpartition(".")[2].split("$", 1)[0]
    extension = ".kt" if frame.filename.endswith(".kt") else ".java"
    return outer_class + extension


def _language_of(filename: str) -> str:
    return "kotlin" if filename.endswith(".kt") else "java"


def _package_of(class_name: str) -> str:
    return class_name.rpartition(".")[0]


def _exception_class(exception: pb.ExceptionInfo) -> str:
    if exception.module and not exception.type.startswith(exception.module + "."):
        return f"{exception.module}.{exception.type}"
    return exception.type


def _set_exception_class(exception: pb.ExceptionInfo, class_name: str) -> None:
    package, _, simple_name = class_name.rpartition(".")
    if exception.module and "." not in exception.type:
        exception.type = simple_name
    else:
        exception.type = class_name
    if exception.module or package:
        exception.module = package


def is_android_platform_class(class_name: str) -> bool:
    """Return whether the class comes with the Android runtime, so no app mapping lists it."""
    return matches_prefix_list(class_name, "android_platform_prefixes.txt")
