"""The alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import service.db.models  # noqa: F401  (registers every table)
from service.config import Settings
from service.db.engine import make_engine
from service.db.migrate import alembic_config, upgrade
from tests.conftest import BACKENDS
from tests.server import make_database


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    database = make_database(request.param, tmp_path)
    engine = make_engine(Settings(data_dir=tmp_path, database_url=database.url))
    try:
        yield engine
    finally:
        engine.dispose()
        database.drop()


def test_migrations_match_models(engine: Engine) -> None:
    upgrade(engine)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert differences == [], "write a migration for these model changes (shindan's migrate.autogenerate helps)"


def test_migrations_form_one_line() -> None:
    """Each revision follows the one before it, so every installation applies them in the same order."""
    script = ScriptDirectory.from_config(alembic_config())
    assert len(script.get_heads()) == 1, f"several heads: {script.get_heads()}; set down_revision to chain them"
