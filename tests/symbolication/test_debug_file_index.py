"""The service's DebugFileIndex on a migrated SQLite database: cached misses, invalidation, aliases, UUID mappings."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.engine import Engine

from service.clock import utc_now
from service.db.migrate import upgrade
from service.db.models import DebugFile, Project
from service.db.symbol_source_models import DebugIdMapping
from service.symbols import index as index_module
from service.symbols.index import DebugFileIndex, save_debug_files
from symbolication import SymbolStore
from symbolication.debug_files import DebugFileError, inspect_debug_file
from tests.server import REPO

C014_MAPPING = "C014-symbolic-py-proguard.mapping.txt"
C014_MAPPING_ID = "a48ca62b-df26-544e-a8b9-2a5ce210d1d5"
BREAKPAD_TOOLS_ID = "67e9247c-814e-392b-a027-dbde6748fcbf"
BITCODE_OUTPUT = REPO / "fixtures" / "bcsymbolmap" / "output"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine(f"sqlite:///{tmp_path / 'index.sqlite3'}")
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def project_id(engine: Engine) -> int:
    with engine.begin() as connection:
        inserted = connection.execute(
            Project.__table__.insert().values(slug="app", name="App", platform="apple", created_at=utc_now())  # type: ignore[attr-defined]
        )
        return int(inserted.inserted_primary_key[0])


def test_miss_cached_until_saved(engine: Engine, store: SymbolStore, project_id: int, corpus: Path) -> None:
    index = DebugFileIndex(engine)

    for _ in range(5):
        assert index.find(project_id, "native", BREAKPAD_TOOLS_ID) is None
    assert index.queries == 1

    found = inspect_debug_file((corpus / "C011-breakpad-tools-macos-crash.dsym.dwarf").read_bytes(), "crash")
    save_debug_files(engine, store, project_id, found)
    ref = index.find(project_id, "native", BREAKPAD_TOOLS_ID)

    assert ref is not None
    assert (ref.kind, ref.arch) == ("macho", "x86_64")
    assert index.queries == 2


def test_miss_expires_after_ttl(engine: Engine, project_id: int) -> None:
    index = DebugFileIndex(engine, ttl_seconds=0.0)

    index.find(project_id, "native", BREAKPAD_TOOLS_ID)
    index.find(project_id, "native", BREAKPAD_TOOLS_ID)

    assert index.queries == 2


def test_cache_bounded(engine: Engine, project_id: int) -> None:
    index = DebugFileIndex(engine, max_entries=3)

    for number in range(10):
        index.find(project_id, "native", f"00000000-0000-0000-0000-{number:012d}")

    assert len(index) == 3


def test_unknown_lookup_kind(engine: Engine, project_id: int) -> None:
    with pytest.raises(ValueError, match="Unknown debug file lookup kind 'pdb'"):
        DebugFileIndex(engine).find(project_id, "pdb", BREAKPAD_TOOLS_ID)


def test_mapping_indexed_under_aliases(engine: Engine, store: SymbolStore, project_id: int, corpus: Path) -> None:
    aliases = ["8A4C2E41-2F6C-4B3A-9E1D-0C5B7A9D3F10", "0b3f5e8c-1a2b-4c3d-8e9f-001122334455"]
    found = inspect_debug_file((corpus / C014_MAPPING).read_bytes(), "mapping.txt")

    described = save_debug_files(engine, store, project_id, found, aliases)

    expected_ids = sorted([C014_MAPPING_ID, *(alias.lower() for alias in aliases)])
    assert sorted(item["debug_id"] for item in described) == expected_ids
    assert len({item["sha256"] for item in described}) == 1
    index = DebugFileIndex(engine)
    for debug_id in expected_ids:
        ref = index.find(project_id, "proguard", debug_id)
        assert ref is not None
        assert ref.kind == "proguard"


def test_same_alias_twice_stored_once(engine: Engine, store: SymbolStore, project_id: int, corpus: Path) -> None:
    alias = "8a4c2e41-2f6c-4b3a-9e1d-0c5b7a9d3f10"
    found = inspect_debug_file((corpus / C014_MAPPING).read_bytes(), "mapping.txt")

    save_debug_files(engine, store, project_id, found, [alias])
    described = save_debug_files(engine, store, project_id, found, [alias.upper()])

    assert [item["created"] for item in described] == [False, False]
    with engine.connect() as connection:
        rows = connection.execute(select(DebugFile.debug_id).where(DebugFile.project_id == project_id)).all()
    assert sorted(row.debug_id for row in rows) == sorted([alias, C014_MAPPING_ID])


def test_alias_needs_a_mapping(engine: Engine, store: SymbolStore, project_id: int, corpus: Path) -> None:
    found = inspect_debug_file((corpus / "C011-breakpad-tools-macos-crash.dsym.dwarf").read_bytes(), "crash")

    with pytest.raises(DebugFileError, match="contains no ProGuard mapping"):
        save_debug_files(engine, store, project_id, found, ["8a4c2e41-2f6c-4b3a-9e1d-0c5b7a9d3f10"])


def test_invalid_alias_rejected(engine: Engine, store: SymbolStore, project_id: int, corpus: Path) -> None:
    found = inspect_debug_file((corpus / C014_MAPPING).read_bytes(), "mapping.txt")

    with pytest.raises(DebugFileError, match="'build-42' is not a valid UUID"):
        save_debug_files(engine, store, project_id, found, ["build-42"])


def test_bcsymbolmap_found_through_uuid_mapping(engine: Engine, store: SymbolStore, project_id: int) -> None:
    expected: dict[str, Any] = json.loads((BITCODE_OUTPUT / "expected.json").read_text())
    dsym_zip = BITCODE_OUTPUT / "Vault.app.dSYM.zip"
    symbol_map = BITCODE_OUTPUT / f"{expected['original_uuid'].upper()}.bcsymbolmap"
    index = DebugFileIndex(engine)

    save_debug_files(engine, store, project_id, inspect_debug_file(dsym_zip.read_bytes(), dsym_zip.name))
    assert index.find(project_id, "bcsymbolmap", expected["dsym_uuid"]) is None
    save_debug_files(engine, store, project_id, inspect_debug_file(symbol_map.read_bytes(), symbol_map.name))
    ref = index.find(project_id, "bcsymbolmap", expected["dsym_uuid"])

    assert ref is not None
    assert ref.kind == "bcsymbolmap"
    assert store.bcsymbolmap(ref.sha256).resolve("__hidden#0_") == "vault_open"
    with engine.connect() as connection:
        mappings = connection.execute(select(DebugIdMapping.debug_id, DebugIdMapping.original_debug_id)).all()
    assert [tuple(row) for row in mappings] == [(expected["dsym_uuid"], expected["original_uuid"])]


def test_sync_sees_file_saved_by_another_process(engine: Engine, store: SymbolStore, project_id: int, corpus: Path) -> None:
    index = DebugFileIndex(engine)
    # An index in a worker process is not in this process's registry, so saving does not reach it.
    index_module._INDEXES.discard(index)
    assert index.find(project_id, "native", BREAKPAD_TOOLS_ID) is None

    found = inspect_debug_file((corpus / "C011-breakpad-tools-macos-crash.dsym.dwarf").read_bytes(), "crash")
    save_debug_files(engine, store, project_id, found)
    assert index.find(project_id, "native", BREAKPAD_TOOLS_ID) is None, "the cached miss is still in use"

    index.sync_with_database()
    assert index.find(project_id, "native", BREAKPAD_TOOLS_ID) is not None
    queries = index.queries
    index.sync_with_database()
    index.find(project_id, "native", BREAKPAD_TOOLS_ID)
    assert index.queries == queries, "an unchanged table keeps the cache"
