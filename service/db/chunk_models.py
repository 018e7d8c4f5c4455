"""The state of sentry-cli chunked uploads, shared by every ``shindan serve`` process."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class ChunkAssembly(SQLModel, table=True):
    """One file that sentry-cli asked to assemble from uploaded chunks, keyed by its SHA-1.

    A row in state ``ok`` also serves as the deduplication record: the same file
    uploaded again is reported from it without assembling anything.
    """

    __tablename__ = "chunk_assembly"
    __table_args__ = (UniqueConstraint("project_id", "checksum", name="uq_chunk_assembly_checksum"),)
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id")
    checksum: str = Field(max_length=40)  # SHA-1 hex of the whole file
    name: str = Field(max_length=500)  # file name as sentry-cli sent it
    state: str = Field(max_length=16)  # created, assembling, ok, error
    detail: str | None = Field(default=None, sa_column=Column(Text))  # error message, or notes on skipped parts
    dif: str | None = Field(default=None, sa_column=Column(Text))  # JSON description sent to sentry-cli when ok
    blob_sha256: str | None = Field(default=None, max_length=64)  # stored blob, when ok
    created_at: datetime
    updated_at: datetime
