"""Tables of session counts: hourly aggregates, seen session states and distinct users.

Every hour column contains the start of a UTC hour, taken from the session's
``started`` time, so that all updates of one session land in one bucket.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel


class SessionHourly(SQLModel, table=True):
    """Sessions counted per project, hour, release, environment, OS and device model.

    ``errored`` includes crashed and abnormal sessions, so ``started -
    errored`` is the number of healthy sessions. Sentry session items carry
    no OS or device, so their rows have "" in those columns.
    """

    __tablename__ = "session_hourly"
    __table_args__ = (
        UniqueConstraint("project_id", "release", "hour", "environment", "os_name", "os_version", "device_model", name="uq_session_hourly_key"),
        Index("ix_session_hourly_project_hour", "project_id", "hour"),
    )
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id")
    hour: datetime
    release: str = Field(max_length=200)
    environment: str = Field(default="", max_length=64)
    os_name: str = Field(default="", max_length=64)
    os_version: str = Field(default="", max_length=64)
    device_model: str = Field(default="", max_length=100)
    started: int = 0
    errored: int = 0
    crashed: int = 0
    abnormal: int = 0
    exited: int = 0
    # Foreground time of sessions that ended with status exited, in seconds.
    duration_total: float = 0.0
    duration_count: int = 0


class SessionSeen(SQLModel, table=True):
    """A state (started, errored, crashed, abnormal, exited) already counted for one session.

    ``session_key`` is a hash of the SDK's session id. Rows are deleted
    some days after ``started`` (``service.sessions.aggregate.SEEN_RETENTION``).
    """

    __tablename__ = "session_seen"
    __table_args__ = (Index("ix_session_seen_started", "started"),)
    project_id: int = Field(foreign_key="project.id", primary_key=True)
    session_key: str = Field(max_length=32, primary_key=True)
    state: str = Field(max_length=16, primary_key=True)
    started: datetime


class SessionUserBucket(SQLModel, table=True):
    """Distinct users of one project, release, environment and hour.

    ``kind`` is "all" or "crashed". While ``sketch`` is NULL the users are
    listed exactly in ``session_user`` and ``exact_count`` is their number.
    Past the bound the rows become a HyperLogLog sketch
    (``service.sessions.hyperloglog``) and ``exact_count`` stops changing.
    """

    __tablename__ = "session_user_bucket"
    __table_args__ = (
        UniqueConstraint("project_id", "release", "hour", "environment", "kind", name="uq_session_user_bucket_key"),
        Index("ix_session_user_bucket_project_hour", "project_id", "hour"),
    )
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id")
    hour: datetime
    release: str = Field(max_length=200)
    environment: str = Field(default="", max_length=64)
    kind: str = Field(max_length=8)
    exact_count: int = 0
    sketch: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))


class SessionUser(SQLModel, table=True):
    """One user of an exact bucket: the keyed hash of the installation or user id, never the id."""

    __tablename__ = "session_user"
    bucket_id: int = Field(foreign_key="session_user_bucket.id", primary_key=True)
    user_hash: str = Field(max_length=64, primary_key=True)
