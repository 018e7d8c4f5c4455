"""Database tables. Times are aware UTC datetimes (see ``service.clock``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class Project(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=64, unique=True, index=True)
    name: str = Field(max_length=200)
    platform: str = Field(max_length=16)  # "apple" or "android"
    created_at: datetime


class ProjectKey(SQLModel, table=True):
    """A DSN key. Only the public key authenticates SDK traffic, as in Sentry."""

    __tablename__ = "project_key"
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    public_key: str = Field(max_length=64, unique=True, index=True)
    active: bool = True
    rate_limit_per_minute: int = 0  # 0 means no project quota
    created_at: datetime


class ApiToken(SQLModel, table=True):
    """A bearer token; only its SHA-256 is stored."""

    __tablename__ = "api_token"
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    prefix: str = Field(max_length=16)
    scopes: str = Field(max_length=200)  # space-separated
    project_id: int | None = Field(default=None, foreign_key="project.id")
    created_at: datetime
    last_used_at: datetime | None = None


class User(SQLModel, table=True):
    __tablename__ = "app_user"
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True, index=True)
    password_hash: str = Field(max_length=300)
    role: str = Field(max_length=16)  # admin, member, viewer
    language: str = Field(default="", max_length=8)  # "" follows Accept-Language
    created_at: datetime


class DebugFile(SQLModel, table=True):
    """One debug file (or one architecture slice of it) indexed by debug id."""

    __tablename__ = "debug_file"
    __table_args__ = (
        UniqueConstraint("project_id", "debug_id", "arch", "blob_sha256", name="uq_debug_file_content"),
        Index("ix_debug_file_lookup", "project_id", "debug_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id")
    kind: str = Field(max_length=16)  # macho, elf, breakpad, proguard
    debug_id: str = Field(max_length=64)
    code_id: str | None = Field(default=None, max_length=128)
    arch: str = Field(default="", max_length=32)
    features: str = Field(default="", max_length=200)  # space-separated
    object_name: str = Field(max_length=500)
    blob_sha256: str = Field(max_length=64)
    size: int
    created_at: datetime


class RawPayload(SQLModel, table=True):
    """A payload exactly as accepted (after transport decompression)."""

    __tablename__ = "raw_payload"
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    received_at: datetime
    format: str = Field(max_length=32)  # "sentry-event", ...
    event_id: str = Field(default="", max_length=32)
    compression: str = Field(default="", max_length=16)  # "" or "zstd"
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class Job(SQLModel, table=True):
    """The processing queue. Workers claim rows; see ``service.queue``."""

    __table_args__ = (Index("ix_job_claim", "status", "available_at"),)
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)  # "process-event"
    project_id: int = Field(foreign_key="project.id")
    payload_id: int | None = Field(default=None, foreign_key="raw_payload.id")
    status: str = Field(default="queued", max_length=16)  # queued, running, done, failed
    attempts: int = 0
    available_at: datetime
    locked_at: datetime | None = None
    locked_by: str | None = Field(default=None, max_length=100)
    created_at: datetime
    finished_at: datetime | None = None
    error: str | None = Field(default=None, sa_column=Column(Text))


class Quarantine(SQLModel, table=True):
    """An authenticated body that could not be parsed, kept for inspection."""

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    received_at: datetime
    reason: str = Field(max_length=500)
    content_type: str = Field(default="", max_length=200)
    content_encoding: str = Field(default="", max_length=50)
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class Issue(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("project_id", "fingerprint", name="uq_issue_fingerprint"),
        Index("ix_issue_list", "project_id", "status", "last_seen"),
    )
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id")
    fingerprint: str = Field(max_length=64)
    title: str = Field(max_length=500)
    culprit: str = Field(default="", max_length=500)
    type: str = Field(max_length=16)  # crash, anr, error, hang
    status: str = Field(default="unresolved", max_length=16)  # unresolved, resolved, ignored
    count: int = 0
    user_count: int = 0
    first_seen: datetime
    last_seen: datetime
    first_release: str = Field(default="", max_length=200)
    last_release: str = Field(default="", max_length=200)
    grouping: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # JSON list of signature parts
    resolved_at: datetime | None = None
    # Set when every event moved to another issue after late symbols re-grouped them; links follow it.
    merged_into_id: int | None = None


class IssueUser(SQLModel, table=True):
    """Distinct (hashed) users per issue, for ``user_count``."""

    __tablename__ = "issue_user"
    issue_id: int = Field(foreign_key="issue.id", primary_key=True)
    user_hash: str = Field(max_length=64, primary_key=True)


class Event(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("project_id", "event_id", name="uq_event_id"),
        Index("ix_event_issue", "issue_id", "received_at"),
        # Event ids are looked up without the project: the SDK shows users only the id.
        Index("ix_event_event_id", "event_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id")
    event_id: str = Field(max_length=32)
    issue_id: int | None = Field(default=None, foreign_key="issue.id")
    received_at: datetime
    timestamp: datetime
    platform: str = Field(default="", max_length=16)
    release: str = Field(default="", max_length=200)
    environment: str = Field(default="", max_length=64)
    title: str = Field(default="", max_length=500)
    user_hash: str = Field(default="", max_length=64)
    os_name: str = Field(default="", max_length=64)
    os_version: str = Field(default="", max_length=64)
    device_model: str = Field(default="", max_length=100)
    symbolication: str = Field(default="", max_length=16)  # complete, partial, missing, not_needed
    report: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # serialized CrashReport
    # The scrubbed report before symbolication, kept only while the event waits for an app debug file or mapping.
    unsymbolicated_report: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))


class AlertChannel(SQLModel, table=True):
    __tablename__ = "alert_channel"
    id: int | None = Field(default=None, primary_key=True)
    project_id: int | None = Field(default=None, foreign_key="project.id")  # None: every project
    kind: str = Field(max_length=16)  # webhook
    name: str = Field(max_length=200)
    url: str = Field(max_length=2000)
    secret: str = Field(max_length=200)
    language: str = Field(default="en", max_length=8)  # language of the alert text: en or ja
    enabled: bool = True
    created_at: datetime


class OutboxMessage(SQLModel, table=True):
    """An alert waiting for delivery; written in the transaction that caused it."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)
    id: int | None = Field(default=None, primary_key=True)
    channel_id: int = Field(foreign_key="alert_channel.id")
    dedupe_key: str = Field(max_length=200, unique=True)
    kind: str = Field(max_length=32)  # new_issue
    payload: str = Field(sa_column=Column(Text, nullable=False))  # JSON body to send
    status: str = Field(default="pending", max_length=16)  # pending, delivered, failed, suppressed (late symbols: the crash alerted as another issue)
    attempts: int = 0
    next_attempt_at: datetime
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime
    delivered_at: datetime | None = None
import service.db.breakdown_indexes  # noqa: E402,F401  (registers the event index for release breakdowns)
import service.db.session_models  # noqa: E402,F401  (registers the session tables)
import service.db.symbol_source_models  # noqa: E402,F401  (registers the UUID mapping table of bitcode builds)
import service.db.symbol_models  # noqa: E402,F401  (registers the symbol tracking tables)
import service.db.chunk_models  # noqa: E402,F401  (registers the chunk upload table)
