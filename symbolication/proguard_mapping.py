"""ProGuard and R8 mapping files: recognition, validation, content UUID and layout.

symbolic's ProguardMapper opens any file without complaint, so uploads are checked here
line by line. The layout index is used to tell inlined callers from alternative
candidates in ProguardMapper.remap_frame's flat result list.
"""

from __future__ import annotations

import hashlib
import mmap
import re
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

# sentry-cli and symbolic derive a mapping's UUID from its bytes this way (symbolic 13.9).
_MAPPING_UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_DNS, "guardsquare.com")

_SNIFF_BYTES = 64 * 1024
_CLASS_LINE = re.compile(r"(?!#)\S.* -> \S+:")
_MEMBER_WITH_LINES = re.compile(r"\s+\d+:\d+:")
_MEMBER_LINE = re.compile(
    r"\s+(?:(?P<start>\d+):(?P<end>\d+):)?"
    r"(?P<return_type>\S+) (?P<name>[^\s(]+)\((?P<arguments>[^)]*)\)"
    r"(?::(?P<original_start>\d+)(?::(?P<original_end>\d+))?)?"
    r" -> (?P<obfuscated>\S+)\s*"
)
_CLASS_HEADER_BYTES = re.compile(rb"^(?!#)(\S[^\n]*?) -> ([^\s:]+):[ \t]*\r?$", re.MULTILINE)


class InvalidMappingError(ValueError):
    """A file that starts like a mapping but breaks the mapping syntax."""


@dataclass(frozen=True)
class MappingSummary:
    class_count: int
    has_line_info: bool


def mapping_content_uuid(data: bytes) -> str:
    """Return the UUID that `sentry-cli upload-proguard` and symbolic derive from the bytes."""
    digest = hashlib.sha1(_MAPPING_UUID_NAMESPACE.bytes + data).digest()
    return str(uuid.UUID(bytes=digest[:16], version=5))


def looks_like_mapping(data: bytes) -> bool:
    """Return whether the first meaningful line of `data` is a class mapping line."""
    head = data[:_SNIFF_BYTES]
    if b"\x00" in head:
        return False
    text = head.decode("utf-8", errors="replace")
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        return _CLASS_LINE.fullmatch(line.rstrip()) is not None
    return False


def validate_mapping(data: bytes) -> MappingSummary:
    """Check every line of a mapping file and summarize it.

    Raises InvalidMappingError naming the first line that is neither a comment, a class
    line (`original -> obfuscated:`) nor an indented member line (`... -> obfuscated`).
    A truncated upload usually fails here on its cut-off last line.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidMappingError(f"is not valid UTF-8 text (byte {error.start})") from None

    class_count = 0
    has_line_info = False
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if line[0] in " \t":
            if class_count == 0 or " -> " not in stripped:
                raise InvalidMappingError(f"line {number} is not a valid member mapping")
            if not has_line_info and _MEMBER_WITH_LINES.match(line):
                has_line_info = True
            continue
        if _CLASS_LINE.fullmatch(line.rstrip()) is None:
            raise InvalidMappingError(f"line {number} is not a valid class mapping")
        class_count += 1

    if class_count == 0:
        raise InvalidMappingError("contains no class mapping")
    return MappingSummary(class_count=class_count, has_line_info=has_line_info)


@dataclass(frozen=True)
class _MemberEntry:
    position: int
    obfuscated_range: tuple[int, int] | None
    has_original_end: bool
    class_name: str
    method: str


_MAX_CACHED_CHAINS = 20_000


class MappingLayout:
    """Byte ranges of each obfuscated class's member lines in one mapping file."""

    def __init__(self, path: Path, sections: dict[str, tuple[str, int, int]]) -> None:
        self._path = path
        self._sections = sections
        # The file never changes, so results are kept, because repeated crashes request the same frames.
        self._chains: dict[tuple[str, str, int], tuple[tuple[tuple[str, str], ...], ...]] = {}

    @classmethod
    def scan(cls, path: Path) -> MappingLayout:
        sections: dict[str, tuple[str, int, int]] = {}
        with path.open("rb") as file:
            if path.stat().st_size == 0:
                return cls(path, sections)
            with mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as view:
                previous: tuple[str, str, int] | None = None
                for match in _CLASS_HEADER_BYTES.finditer(view):
                    if previous is not None:
                        sections[previous[1]] = (previous[0], previous[2], match.start())
                    original = match.group(1).decode("utf-8", errors="replace")
                    obfuscated = match.group(2).decode("utf-8", errors="replace")
                    previous = (original, obfuscated, match.end())
                if previous is not None:
                    sections[previous[1]] = (previous[0], previous[2], len(view))
        return cls(path, sections)

    def candidate_chains(self, obfuscated_class: str, method: str, line: int) -> list[list[tuple[str, str]]]:
        """Group the mapping entries that match a frame into inline chains, in file order.

        Each chain lists (class, method) innermost first. Entries belong to one chain when
        they are adjacent in the file, share the obfuscated line range, and every entry
        after the first names a single original line: the call site of the inlined frame
        before it. Any other matching entry starts a new chain, that is a new candidate.
        """
        key = (obfuscated_class, method, line)
        cached = self._chains.get(key)
        if cached is None:
            cached = tuple(tuple(chain) for chain in self._read_chains(obfuscated_class, method, line))
            if len(self._chains) >= _MAX_CACHED_CHAINS:
                self._chains.clear()
            self._chains[key] = cached
        return [list(chain) for chain in cached]

    def _read_chains(self, obfuscated_class: str, method: str, line: int) -> list[list[tuple[str, str]]]:
        section = self._sections.get(obfuscated_class)
        if section is None:
            return []
        original_class, start, end = section
        with self._path.open("rb") as file:
            file.seek(start)
            text = file.read(end - start).decode("utf-8", errors="replace")

        chains: list[list[tuple[str, str]]] = []
        previous: _MemberEntry | None = None
        for entry in _member_entries(text, original_class, method):
            if not _entry_covers(entry, line):
                continue
            continues_chain = (
                previous is not None
                and entry.position == previous.position + 1
                and entry.obfuscated_range == previous.obfuscated_range
                and entry.obfuscated_range is not None
                and not entry.has_original_end
            )
            if continues_chain:
                chains[-1].append((entry.class_name, entry.method))
            else:
                chains.append([(entry.class_name, entry.method)])
            previous = entry
        return chains


def _member_entries(text: str, original_class: str, method: str) -> list[_MemberEntry]:
    entries = []
    position = 0
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        position += 1
        match = _MEMBER_LINE.fullmatch(line)
        if match is None or match.group("obfuscated") != method:
            continue
        name = match.group("name")
        class_name, _, method_name = name.rpartition(".")
        obfuscated_range = None
        if match.group("start") is not None:
            obfuscated_range = (int(match.group("start")), int(match.group("end")))
        entries.append(
            _MemberEntry(
                position=position,
                obfuscated_range=obfuscated_range,
                has_original_end=match.group("original_end") is not None,
                class_name=class_name or original_class,
                method=method_name,
            )
        )
    return entries


def _entry_covers(entry: _MemberEntry, line: int) -> bool:
    if entry.obfuscated_range is None:
        return True
    first, last = entry.obfuscated_range
    return first <= line <= last


class LazyMappingLayout:
    """A MappingLayout scanned on first use, at most once, from any thread."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._layout: MappingLayout | None = None

    def get(self) -> MappingLayout:
        with self._lock:
            if self._layout is None:
                self._layout = MappingLayout.scan(self._path)
            return self._layout
