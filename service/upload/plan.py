"""Decide which local debug files to upload, and in which files to send them.

Build trees often hold several copies of one library (stripped and unstripped, or the
`--only-keep-debug` companion), all with the same debug id. One copy per debug id is
chosen: the one with the most useful content.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from service.upload.discover import NATIVE_KINDS, Inventory, LocalDebugFile, bundle_files


@dataclass
class Selection:
    chosen: list[LocalDebugFile] = field(default_factory=list)  # one per debug id, uploadable
    # Copies without debug info passed over for a copy with it: (passed over, chosen).
    superseded: list[tuple[LocalDebugFile, LocalDebugFile]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def superseded_warning(self) -> str | None:
        if not self.superseded:
            return None
        lines = [f"{len(self.superseded)} file(s) without debug info are not uploaded, because a copy with debug info has the same debug id:"]
        for skipped, chosen in self.superseded:
            lines.append(f"  {skipped.location} ({skipped.describe()}): using {chosen.location}")
        return "\n".join(lines)


@dataclass
class UploadUnit:
    """One file sent in one request, with the debug files the server should find in it."""

    label: str  # what the user sees
    filename: str  # the multipart file name
    debug_files: list[LocalDebugFile]
    path: Path | None = None  # the file to send, or None for a bundle not yet zipped
    bundle: Path | None = None  # a `.dSYM` folder, zipped right before it is sent
    bundle_in_zip: tuple[Path, str] | None = None  # a zip and the `<name>.dSYM/` prefix of the members to send
    size: int = 0  # bytes to send; an estimate until a bundle is zipped


def _rank(item: LocalDebugFile) -> tuple[bool, bool, bool, bool, int]:
    features = set(item.features)
    return (
        item.has_debug_info,
        "symtab" in features,
        item.kind != "breakpad",  # DWARF carries inline frames that Breakpad files often drop
        "unwind" in features,
        -len(str(item.location)),  # a stable choice among equal copies
    )


def group_of(item: LocalDebugFile) -> str:
    """Return the kind that copies of one debug id share: "native" for Mach-O, ELF and Breakpad."""
    return "native" if item.kind in NATIVE_KINDS else item.kind


def select(inventory: Inventory) -> Selection:
    """Choose one file per debug id, and note copies and files that lack debug information."""
    selection = Selection()
    groups: dict[tuple[str, str], list[LocalDebugFile]] = defaultdict(list)
    for item in inventory.files:
        groups[(group_of(item), item.debug_id)].append(item)
    for candidates in groups.values():
        best = max(candidates, key=_rank)
        for other in candidates:
            if other is not best and not other.has_debug_info:
                selection.superseded.append((other, best))
        features = set(best.features)
        if not best.has_debug_info and "symtab" not in features:
            selection.warnings.append(
                f"{best.location}: not uploaded, it has neither debug info nor a symbol table ({best.describe()})"
            )
            continue
        if not best.has_debug_info:
            selection.warnings.append(
                f"{best.location}: has a symbol table but no debug info ({best.describe()}), so frames get "
                "function names without file and line; upload the dSYM or the unstripped library instead"
            )
        selection.chosen.append(best)
    selection.chosen.sort(key=lambda item: (str(item.location), item.arch))
    return selection


def plan_units(inventory: Inventory, selected: list[LocalDebugFile]) -> list[UploadUnit]:
    """Group the debug files to upload into the files to send.

    A zip of dSYMs is sent as it is when every dSYM in it is needed, because it is
    already compressed. Otherwise each needed dSYM bundle in it is zipped again on its
    own, and other needed members are sent from their extracted copies. A `.dSYM` folder
    is zipped too, so the UUID plists of bitcode builds travel with the DWARF file.
    """
    by_container: dict[tuple[str, Path], list[LocalDebugFile]] = defaultdict(list)
    for item in selected:
        location = item.location
        if location.member is not None:
            by_container[("zip", location.path)].append(item)
        elif location.bundle is not None:
            by_container[("bundle", location.bundle)].append(item)
        else:
            by_container[("file", location.path)].append(item)

    selected_ids = {id(item) for item in selected}
    units: list[UploadUnit] = []
    for (container, path), items in by_container.items():
        if container == "file":
            units.append(UploadUnit(str(path), path.name, items, path=path, size=items[0].size))
        elif container == "bundle":
            estimate = sum(file.stat().st_size for file in bundle_files(path))
            units.append(UploadUnit(str(path), f"{path.name}.zip", items, bundle=path, size=estimate))
        else:
            in_zip = [item for item in inventory.files if item.location.member is not None and item.location.path == path]
            if path in inventory.dsym_zips and all(id(item) in selected_ids for item in in_zip):
                units.append(UploadUnit(str(path), path.name, items, path=path, size=path.stat().st_size))
            else:
                units.extend(_member_units(path, items))
    return units


def _member_units(zip_path: Path, items: list[LocalDebugFile]) -> list[UploadUnit]:
    by_member: dict[str, list[LocalDebugFile]] = defaultdict(list)
    by_bundle: dict[str, list[LocalDebugFile]] = defaultdict(list)
    for item in items:
        prefix = item.dsym_bundle_in_zip
        if prefix is not None:
            by_bundle[prefix].append(item)
        else:
            by_member[item.location.member or ""].append(item)
    units = []
    for prefix, bundle_items in by_bundle.items():
        bundle_name = prefix.rstrip("/").rsplit("/", 1)[-1]
        estimate = sum({item.location.member: item.size for item in bundle_items}.values())
        units.append(UploadUnit(f"{zip_path} ({prefix})", f"{bundle_name}.zip", bundle_items, bundle_in_zip=(zip_path, prefix), size=estimate))
    for member_items in by_member.values():
        first = member_items[0]
        assert first.extracted is not None, "zip members are always extracted"
        units.append(UploadUnit(str(first.location), first.extracted.name, member_items, path=first.extracted, size=first.size))
    return units
