"""Fixtures for the symbolication tests: a symbol store with a debug file index, and corpus reports."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from service.formats.sentry_event import event_to_report
from service.schema import crash_report_pb2 as pb
from symbolication import SymbolStore, Symbolicator
from tests.symbolication.helpers import DebugFileIndex

RECEIVED_AT = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> SymbolStore:
    return SymbolStore(tmp_path / "symbols")


@pytest.fixture
def debug_files(store: SymbolStore) -> DebugFileIndex:
    return DebugFileIndex(store)


@pytest.fixture
def symbolicator(store: SymbolStore, debug_files: DebugFileIndex) -> Symbolicator:
    return Symbolicator(store, debug_files.find)


@pytest.fixture
def sentry_report(corpus: Path) -> Callable[[str], pb.CrashReport]:
    """Convert a Sentry event of the corpus with the service's own converter."""

    def load(name: str) -> pb.CrashReport:
        event = json.loads((corpus / name).read_text(encoding="utf-8"))
        return event_to_report(event, received_at=RECEIVED_AT)

    return load
