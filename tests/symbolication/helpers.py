"""Helpers for the symbolication tests: an in-memory debug file index and report builders."""

from __future__ import annotations

from pathlib import Path

from service.schema import crash_report_pb2 as pb
from symbolication import DebugFileRef, SymbolStore
from symbolication.debug_files import FoundDebugFile, inspect_debug_file


class DebugFileIndex:
    """An in-memory stand-in for the service's index: debug id to the best stored file.

    Like the service, it prefers a file with DWARF debug info over one with a symbol
    table only, whatever the upload order, installs the SymCaches built during
    inspection, and follows dSYM UUID mappings to find BCSymbolMaps.
    """

    def __init__(self, store: SymbolStore) -> None:
        self.store = store
        self.lookups: list[tuple[str, str]] = []
        self._files: dict[tuple[str, str], list[DebugFileRef]] = {}
        self._original_ids: dict[str, set[str]] = {}

    def upload(self, data: bytes, filename: str, mapping_uuid: str | None = None) -> list[FoundDebugFile]:
        found = inspect_debug_file(data, filename, mapping_uuid)
        for entry in found:
            self.add(entry)
        return found

    def upload_path(self, path: Path, mapping_uuid: str | None = None) -> list[FoundDebugFile]:
        return self.upload(path.read_bytes(), path.name, mapping_uuid)

    def add(self, entry: FoundDebugFile) -> None:
        if entry.kind == "uuidmap":
            assert entry.original_debug_id is not None
            self._original_ids.setdefault(entry.debug_id, set()).add(entry.original_debug_id)
            return
        sha256 = self.store.put_staged(entry.content)
        if entry.symcache is not None:
            self.store.install_symcache(sha256, entry.arch, entry.symcache)
        kind = entry.kind if entry.kind in ("proguard", "bcsymbolmap") else "native"
        ref = DebugFileRef(sha256=sha256, arch=entry.arch or None, features=entry.features, kind=entry.kind)
        self.register(kind, entry.debug_id, ref)

    def register(self, kind: str, debug_id: str, ref: DebugFileRef) -> None:
        self._files.setdefault((kind, debug_id), []).append(ref)

    def find(self, kind: str, debug_id: str) -> DebugFileRef | None:
        self.lookups.append((kind, debug_id))
        debug_ids = [debug_id, *sorted(self._original_ids.get(debug_id, ()))] if kind == "bcsymbolmap" else [debug_id]
        refs = [ref for candidate in debug_ids for ref in self._files.get((kind, candidate), [])]
        return max(refs, key=lambda ref: ("debug" in ref.features, ref.kind != "breakpad"), default=None)


def native_report(
    image_addr: int,
    image_size: int,
    debug_id: str,
    addresses: list[int],
    *,
    arch: str = "x86_64",
    code_file: str = "/Applications/Sample.app/Contents/MacOS/Sample",
    image_type: int = pb.IMAGE_TYPE_MACHO,
) -> pb.CrashReport:
    """Build a report with one crashed thread whose frames (innermost first) are `addresses`."""
    report = pb.CrashReport(platform=pb.PLATFORM_APPLE if image_type == pb.IMAGE_TYPE_MACHO else pb.PLATFORM_ANDROID)
    report.images.add(
        type=image_type,
        code_file=code_file,
        debug_id=debug_id,
        image_addr=image_addr,
        image_size=image_size,
        arch=arch,
    )
    thread = report.threads.add(id=0, crashed=True)
    for address in addresses:
        thread.frames.add(instruction_addr=address, platform="native")
    return report
