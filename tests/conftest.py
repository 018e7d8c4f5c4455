"""Shared fixtures: real servers on SQLite and PostgreSQL, the corpus and the fixture outputs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server import REPO, Server, start_server

BACKENDS = [name.strip() for name in os.environ.get("SHINDAN_TEST_BACKENDS", "sqlite,postgresql").split(",") if name.strip()]
CORPUS = Path(os.environ.get("SHINDAN_CORPUS_DIR", REPO.parent / "shared" / "corpus"))
FIXTURES = REPO / "fixtures"


@pytest.fixture(scope="module", params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A running server with its own empty database, shared by the tests of one module."""
    instance = start_server(request.param, tmp_path_factory.mktemp(f"server-{request.param}"))
    try:
        yield instance
    finally:
        instance.stop()


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"crash corpus not found at {CORPUS} (set SHINDAN_CORPUS_DIR)")
    return CORPUS
