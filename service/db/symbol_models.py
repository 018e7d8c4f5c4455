"""Tables that track which debug files and mappings crashes needed, and which events wait for one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel


class SymbolNeed(SQLModel, table=True):
    """One debug file or mapping that crashes of one release needed, whether it was found or not.

    ``release`` is "" for events without a release. ``in_app`` marks the app's own
    images and every ProGuard mapping: only those make an event wait, because
    system libraries are rarely uploaded. Whether a file is available now is read
    from ``debug_file`` when the table is queried, not stored here.
    """

    __tablename__ = "symbol_need"
    __table_args__ = (
        UniqueConstraint("project_id", "release", "debug_id", name="uq_symbol_need"),
        Index("ix_symbol_need_debug_id", "project_id", "debug_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id")
    release: str = Field(default="", max_length=200)
    kind: str = Field(max_length=16)  # macho, elf, breakpad, proguard, or native when the report names no type
    debug_id: str = Field(max_length=64)
    code_file: str = Field(default="", max_length=500)
    in_app: bool = False
    events: int = 0
    first_seen: datetime
    last_seen: datetime


class EventSymbolWait(SQLModel, table=True):
    """An event whose stored report lacks symbols from the debug file or mapping ``debug_id``.

    ``lookup`` is "native" or "proguard", the kinds the symbol index is searched by.
    ``reason`` is "missing" (nothing uploaded), "hidden" (a bitcode dSYM whose
    BCSymbolMap is not uploaded) or "malformed" (the upload cannot be
    used). ``ready`` is set in the transaction that stores a debug file with this id,
    and the ``reprocess-symbols`` job re-symbolicates events with a ready row.
    """

    __tablename__ = "event_symbol_wait"
    __table_args__ = (
        Index("ix_event_symbol_wait_debug_id", "project_id", "debug_id"),
        Index("ix_event_symbol_wait_ready", "project_id", "ready"),
    )
    event_row_id: int = Field(foreign_key="event.id", primary_key=True)
    debug_id: str = Field(max_length=64, primary_key=True)
    project_id: int = Field(foreign_key="project.id")
    lookup: str = Field(max_length=16)
    reason: str = Field(max_length=16)
    ready: bool = False
