"""Symbolication of native frames: address to image, image to SymCache, SymCache to frames.

Frame statuses, and the matching image status and status_detail:

    SYMBOLICATED      the SymCache has an entry for the address             image FOUND
    UNKNOWN_IMAGE     the address lies in no image of the report            (no image)
    MISSING_SYMBOLS   the report gives no debug id, or nothing was uploaded
                      for it                                                image MISSING
    MALFORMED_SYMBOLS the debug file cannot be read                         image MALFORMED
    MALFORMED_SYMBOLS the debug file was read but has no entry for the
                      address (another build, or a bogus frame)             image FOUND, with
                                                                            the count in the detail
    NOT_APPLICABLE    the frame has no address but already has a function

An image no frame points into gets UNUSED and is never looked up.
"""

from __future__ import annotations

import logging
import posixpath
import threading
import uuid
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

from symbolic.common import arch_get_ip_reg_name, arch_is_known
from symbolic.debuginfo import normalize_debug_id
from symbolic.exceptions import SymbolicError
from symbolic.symcache import SourceLocation, SymCache, find_best_instruction

from service.schema import crash_report_pb2 as pb
from symbolication.bitcode import BcSymbolMap, has_hidden_names
from symbolication.demangle import demangle, strip_parameter_list
from symbolication.images import ImageIndex, IndexedImage, address_mask_for
from symbolication.model import DebugFileRef, FindDebugFile, SymbolicationResult
from symbolication.store import SymbolFileError, SymbolStore

logger = logging.getLogger("shindan.symbols")

_NIL_DEBUG_ID = "00000000-0000-0000-0000-000000000000"
# Frame.address_mode values. "exact" (also "abs", "none") looks the address up as is,
# "return" (also "all") treats it as a return address. An empty value, "auto" and
# "all_but_first" leave it to the frame's position: frame 0 exact, the others return.
_EXACT_MODES = frozenset({"exact", "abs", "none"})
_RETURN_MODES = frozenset({"return", "all"})
# SymCache `lang` values mapped to Frame.lang.
_DEBUG_INFO_LANGUAGES = {
    "c": "c",
    "cpp": "cpp",
    "objc": "objc",
    "objcpp": "objc",
    "swift": "swift",
    "rust": "rust",
}


class _BoundedCache:
    """A thread-safe map that drops its oldest entries beyond ``capacity``."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[tuple[str, str, int], list[SourceLocation]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str, int]) -> list[SourceLocation] | None:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: tuple[str, str, int], value: list[SourceLocation]) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)


# At most 100,000 addresses. Each entry contains the few locations of one address.
_LOOKUP_CACHE = _BoundedCache(100_000)


@dataclass
class _ImageState:
    image: pb.Image
    debug_id: str
    ref: DebugFileRef | None = None
    symcache: SymCache | None = None
    status: pb.ImageStatus = pb.IMAGE_STATUS_UNSPECIFIED
    detail: str = ""
    addresses_without_entry: int = 0
    example_without_entry: int | None = None
    # Bitcode builds: the BCSymbolMap that resolves `__hidden#N_` names, looked up once.
    symbol_map: BcSymbolMap | None = None
    symbol_map_looked_up: bool = False
    symbol_map_problem: str = ""
    frames_with_hidden_names: int = 0


class NativeFrames:
    """Symbolicates the native frames of one report and then sets its image statuses."""

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
        self._index = ImageIndex(report.images)
        self._address_mask = address_mask_for(report)
        self._device_arch = report.device.archs[0] if report.device.archs else ""
        self._signal = _crash_signal(report)
        self._states: dict[int, _ImageState] = {}

    def symbolicate(self, frame: pb.Frame, *, position: int, registers: Mapping[str, int]) -> list[pb.Frame]:
        """Return the frames that replace `frame`: several when the address is in inlined code.

        `position` is the frame's index in its stack trace (0 is where the thread
        stopped) and `registers` are the thread's registers, used for the top frame.
        """
        if frame.instruction_addr == 0:
            _demangle_reported_name(frame)
            has_name = bool(frame.function or frame.raw_function)
            frame.status = pb.FRAME_STATUS_NOT_APPLICABLE if has_name else pb.FRAME_STATUS_UNKNOWN_IMAGE
            return [frame]

        address, indexed = self._index.locate(frame.instruction_addr, self._address_mask)
        frame.instruction_addr = address
        if indexed is None:
            _demangle_reported_name(frame)
            frame.status = pb.FRAME_STATUS_UNKNOWN_IMAGE
            return [frame]

        image = indexed.image
        frame.image_addr = image.image_addr
        if image.code_file:
            frame.package = image.code_file
        state = self._image_state(indexed)
        if state.symcache is None:
            _demangle_reported_name(frame)
            frame.status = (
                pb.FRAME_STATUS_MALFORMED_SYMBOLS
                if state.status == pb.IMAGE_STATUS_MALFORMED
                else pb.FRAME_STATUS_MISSING_SYMBOLS
            )
            return [frame]

        relative = self._lookup_address(frame, position, state, address, registers) - image.image_addr
        locations = self._lookup(state, relative)
        if not locations:
            state.addresses_without_entry += 1
            if state.example_without_entry is None:
                state.example_without_entry = relative
            _demangle_reported_name(frame)
            frame.status = pb.FRAME_STATUS_MALFORMED_SYMBOLS
            return [frame]
        symbol_map = self._symbol_map_for(state, locations)
        kind = state.ref.kind if state.ref else ""
        return _expand(frame, locations, image.image_addr, kind=kind, symbol_map=symbol_map)

    def finish(self) -> None:
        """Set status and status_detail on every native image of the report."""
        for position, image in enumerate(self._report.images):
            if image.type == pb.IMAGE_TYPE_PROGUARD:
                continue
            state = self._states.get(position)
            if state is None:
                image.status = pb.IMAGE_STATUS_UNUSED
                image.status_detail = "No frame points into this image, so it was not looked up."
                continue
            image.status = state.status
            image.status_detail = _found_detail(state) if state.status == pb.IMAGE_STATUS_FOUND else state.detail

    def _image_state(self, indexed: IndexedImage) -> _ImageState:
        state = self._states.get(indexed.position)
        if state is None:
            state = self._load_image(indexed.image)
            self._states[indexed.position] = state
        return state

    def _load_image(self, image: pb.Image) -> _ImageState:
        debug_id = _image_debug_id(image)
        state = _ImageState(image=image, debug_id=debug_id)
        if not debug_id:
            state.status = pb.IMAGE_STATUS_MISSING
            state.detail = "The report gives no valid debug id for this image, so no debug file can be looked up."
            return state

        state.ref = self._find_debug_file("native", debug_id)
        if state.ref is None:
            state.status = pb.IMAGE_STATUS_MISSING
            state.detail = f"No debug file with debug id {debug_id} has been uploaded."
            self._result.add_missing("native", debug_id)
            return state

        try:
            state.symcache = self._store.symcache(state.ref.sha256, state.ref.arch)
        except SymbolFileError as error:
            logger.warning("Cannot use debug file %s for debug id %s: %s", state.ref.sha256, debug_id, error.message)
            state.status = pb.IMAGE_STATUS_MALFORMED
            state.detail = f"The debug file uploaded for debug id {debug_id} cannot be used: {error.message}"
            self._result.add_malformed("native", debug_id)
            return state
        state.status = pb.IMAGE_STATUS_FOUND
        return state

    def _lookup_address(
        self, frame: pb.Frame, position: int, state: _ImageState, address: int, registers: Mapping[str, int]
    ) -> int:
        """Return the address to look up: a caller frame's return address moved into its call."""
        mode = frame.address_mode
        if mode in _EXACT_MODES:
            return address
        is_crashing_frame = position == 0 and mode not in _RETURN_MODES
        arch = state.image.arch or (state.ref.arch if state.ref else None) or self._device_arch
        if not arch or not arch_is_known(arch):
            # Any address inside the call instruction finds the call's line.
            return address if is_crashing_frame else address - 1
        ip_register = None
        if is_crashing_frame:
            register_name = arch_get_ip_reg_name(arch)
            ip_register = registers.get(register_name) if register_name else None
        return int(
            find_best_instruction(
                address, arch, crashing_frame=is_crashing_frame, signal=self._signal, ip_reg=ip_register
            )
        )

    def _symbol_map_for(self, state: _ImageState, locations: list[SourceLocation]) -> BcSymbolMap | None:
        """Return the BCSymbolMap for locations with `__hidden#N_` names, or None.

        The map is looked up once per image and report. When it is missing, the
        frames keep their hidden names and the report lists the map as missing.
        """
        if not any(has_hidden_names(location.symbol, location.full_path or "") for location in locations):
            return None
        state.frames_with_hidden_names += 1
        if not state.symbol_map_looked_up:
            state.symbol_map_looked_up = True
            self._load_symbol_map(state)
        return state.symbol_map

    def _load_symbol_map(self, state: _ImageState) -> None:
        ref = self._find_debug_file("bcsymbolmap", state.debug_id)
        if ref is None:
            state.symbol_map_problem = (
                "Names in this debug file are hidden (__hidden#N_), as in App Store builds from bitcode, and no "
                "BCSymbolMap has been uploaded for it. Upload the dSYM with its UUID plist and the BCSymbolMaps "
                "folder of the archive."
            )
            self._result.add_missing("bcsymbolmap", state.debug_id)
            return
        try:
            state.symbol_map = self._store.bcsymbolmap(ref.sha256)
        except SymbolFileError as error:
            logger.warning("Cannot use BCSymbolMap %s for debug id %s: %s", ref.sha256, state.debug_id, error.message)
            state.symbol_map_problem = f"The BCSymbolMap uploaded for debug id {state.debug_id} cannot be used: {error.message}"
            self._result.add_malformed("bcsymbolmap", state.debug_id)

    def _lookup(self, state: _ImageState, relative: int) -> list[SourceLocation]:
        if relative < 0 or state.symcache is None or state.ref is None:
            return []
        # Crash storms repeat the same addresses, so lookups are shared by all
        # reports of this process through a bounded cache keyed by the debug file.
        key = (state.ref.sha256, state.ref.arch or "", relative)
        locations = _LOOKUP_CACHE.get(key)
        if locations is None:
            locations = list(state.symcache.lookup(relative))
            _LOOKUP_CACHE.put(key, locations)
        return locations


def _expand(
    frame: pb.Frame,
    locations: list[SourceLocation],
    image_addr: int,
    *,
    kind: str = "",
    symbol_map: BcSymbolMap | None = None,
) -> list[pb.Frame]:
    """Build one frame per location, innermost first. All but the last are inlined.

    `kind` is the debug file's kind: Breakpad names carry their parameter list, which
    is kept in raw_function and dropped from function, so that a `.sym` file and the
    dSYM it was made from give the same function names.
    """
    outermost = locations[-1]
    frames = []
    for index, location in enumerate(locations):
        symbol = location.symbol
        full_path = location.full_path or ""
        if symbol_map is not None:
            symbol = symbol_map.resolve(symbol)
            full_path = symbol_map.resolve_path(full_path)
        expanded = pb.Frame()
        expanded.CopyFrom(frame)
        expanded.raw_function = symbol
        expanded.function, scheme_language = demangle(symbol)
        if kind == "breakpad":
            expanded.function = strip_parameter_list(expanded.function)
        expanded.lang = _frame_language(scheme_language, location.lang)
        if full_path:
            expanded.abs_path = full_path
            expanded.filename = posixpath.basename(full_path.replace("\\", "/"))
        expanded.lineno = location.line
        expanded.symbol_addr = image_addr + outermost.sym_addr
        expanded.inlined = index < len(locations) - 1
        expanded.status = pb.FRAME_STATUS_SYMBOLICATED
        frames.append(expanded)
    return frames


def _frame_language(scheme_language: str, debug_info_language: str) -> str:
    # The mangling scheme is certain; a plain name takes its compile unit's language.
    if scheme_language not in ("", "c"):
        return scheme_language
    return _DEBUG_INFO_LANGUAGES.get(debug_info_language, scheme_language)


def _demangle_reported_name(frame: pb.Frame) -> None:
    """Demangle a function name the SDK reported, keeping the reported name in raw_function."""
    if not frame.function:
        return
    demangled, language = demangle(frame.function)
    if demangled != frame.function:
        if not frame.raw_function:
            frame.raw_function = frame.function
        frame.function = demangled
    if not frame.lang and language:
        frame.lang = language


def _found_detail(state: _ImageState) -> str:
    detail = f"Symbolicated with the debug file uploaded for debug id {state.debug_id}."
    features = state.ref.features if state.ref else []
    if "debug" not in features:
        detail += " It has a symbol table but no debug info, so frames have function names but no file or line."
    if state.frames_with_hidden_names and state.symbol_map is not None:
        detail += " Hidden names (__hidden#N_) were resolved with the uploaded BCSymbolMap."
    elif state.frames_with_hidden_names:
        detail += f" {state.frames_with_hidden_names} frame(s) keep hidden names. {state.symbol_map_problem}"
    if state.addresses_without_entry:
        detail += (
            f" {state.addresses_without_entry} address(es) have no entry in it, for example offset"
            f" 0x{state.example_without_entry or 0:x}; the debug file may come from another build"
            " or the image size in the report may be wrong."
        )
    return detail


def _image_debug_id(image: pb.Image) -> str:
    """Return the image's normalized debug id, derived from an ELF build id if needed, or ""."""
    raw = image.debug_id.strip()
    if not raw and image.type == pb.IMAGE_TYPE_ELF and len(image.code_id) >= 32:
        try:
            raw = str(uuid.UUID(bytes_le=bytes.fromhex(image.code_id[:32])))
        except ValueError:
            return ""
    if not raw:
        return ""
    try:
        debug_id = normalize_debug_id(raw)
    except SymbolicError:
        return ""
    return "" if debug_id.startswith(_NIL_DEBUG_ID) else debug_id


def _crash_signal(report: pb.CrashReport) -> int | None:
    for exception in report.exceptions:
        if exception.mechanism.signal.number:
            return int(exception.mechanism.signal.number)
    return None
