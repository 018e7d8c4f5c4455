"""Tables for symbol sources beyond debug files: the UUID mappings of bitcode builds."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel


class DebugIdMapping(SQLModel, table=True):
    """A dSYM's UUID and the UUID of the original build it was recompiled from (`DBGOriginalUUID`).

    App Store builds from bitcode get a new UUID, but their BCSymbolMap is named after
    the original build's UUID. This row links the two, as the dSYM's UUID plist states.
    """

    __tablename__ = "debug_id_mapping"
    __table_args__ = (
        UniqueConstraint("project_id", "debug_id", "original_debug_id", name="uq_debug_id_mapping"),
        Index("ix_debug_id_mapping_original", "project_id", "original_debug_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id")
    debug_id: str = Field(max_length=64)
    original_debug_id: str = Field(max_length=64)
    object_name: str = Field(max_length=500)
    created_at: datetime
