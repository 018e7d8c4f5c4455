"""Values exchanged between the Symbolicator and the service that calls it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class DebugFileRef:
    """The stored debug file the service picked for a debug id."""

    sha256: str
    arch: str | None
    features: list[str]
    kind: str = ""  # the stored file's kind: "macho", "elf", "breakpad", "proguard" or "bcsymbolmap"


# find_debug_file(kind, debug_id), where kind is "native", "proguard" or "bcsymbolmap".
# For "bcsymbolmap", debug_id is a dSYM's UUID: the index follows the dSYM's UUID mapping
# to the original build's UUID, which names the BCSymbolMap.
FindDebugFile = Callable[[str, str], DebugFileRef | None]


@dataclass
class SymbolicationResult:
    """Outcome of one symbolicate() call: the debug files it lacked and the frames it resolved.

    `missing` and `malformed` list (kind, debug_id) pairs, each once. The frame counts
    are over the frames of the report before inline expansion, threads and exceptions
    together.
    """

    missing: list[tuple[str, str]] = field(default_factory=list)
    malformed: list[tuple[str, str]] = field(default_factory=list)
    symbolicated_frames: int = 0
    total_frames: int = 0

    def add_missing(self, kind: str, debug_id: str) -> None:
        if (kind, debug_id) not in self.missing:
            self.missing.append((kind, debug_id))

    def add_malformed(self, kind: str, debug_id: str) -> None:
        if (kind, debug_id) not in self.malformed:
            self.malformed.append((kind, debug_id))
