"""Indexes on ``event`` for the per-release breakdowns (``service.breakdowns``).

Declared here rather than in ``Event.__table_args__`` so that the breakdowns
code owns them. An ``Index`` built from bound columns joins the table's metadata.
"""

from __future__ import annotations

from sqlalchemy import Index

from service.db.models import Event

# Finds one release's events of a project by crash time without reading the project's other events.
EVENT_RELEASE_INDEX = Index("ix_event_release", Event.project_id, Event.release, Event.timestamp)  # type: ignore[arg-type]
