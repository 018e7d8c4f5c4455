"""Dialect-specific statements that SQLite and PostgreSQL spell the same way."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection


def insert_for(connection: Connection, table: Any) -> Any:
    """Return an INSERT for ``table`` in the connection's dialect, which offers ``on_conflict_do_nothing``."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)
