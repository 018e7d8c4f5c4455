"""A migrated database on each backend for counting tests, and a project per test."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, insert
from sqlalchemy.engine import Engine

from service.db.migrate import upgrade
from service.db.models import Project
from tests.conftest import BACKENDS
from tests.server import make_database

USER_HASH_KEY = b"sessions-test-key"


@pytest.fixture(scope="module", params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    database = make_database(request.param, tmp_path_factory.mktemp(f"sessions-{request.param}"))
    engine = create_engine(database.url)
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        database.drop()


@pytest.fixture
def project_id(engine: Engine) -> int:
    with engine.begin() as connection:
        slug = "sessions-" + secrets.token_hex(4)
        created = datetime(2026, 1, 1, tzinfo=UTC)
        return int(connection.execute(insert(Project).values(slug=slug, name=slug, platform="apple", created_at=created).returning(Project.id)).scalar_one())
