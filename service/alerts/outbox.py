"""Writing alerts into the outbox, inside the transaction that caused them.

Each message has a ``dedupe_key`` (kind, issue, channel), so the same alert
for the same issue and channel is written at most once, even when an event is
processed again.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.engine import Connection

from service.db.dialect import insert_for
from service.db.models import AlertChannel, Issue, OutboxMessage, Project
from web.translations import gettext


def new_issue_payload(project: Any, issue: Any, language: str, base_url: str, now: datetime) -> dict[str, object]:
    url = f"{base_url.rstrip('/')}/issues/{issue.id}"
    text = gettext(language, "New issue in %(project)s: %(title)s", project=project.name, title=issue.title)
    return {
        "type": "issue.created",
        "language": language,
        "text": text,
        "project": {"id": project.id, "slug": project.slug, "name": project.name},
        "issue": {
            "id": issue.id,
            "title": issue.title,
            "culprit": issue.culprit,
            "type": issue.type,
            "status": issue.status,
            "first_seen": issue.first_seen.isoformat(),
            "first_release": issue.first_release,
            "url": url,
        },
        "created_at": now.isoformat(),
    }


def enqueue_new_issue(connection: Connection, project_id: int, issue_id: int, now: datetime, base_url: str = "") -> int:
    """Write one ``issue.created`` message per enabled channel; return how many were new.

    Rows are read through the Core connection of the caller's transaction, so
    ``project`` and ``issue`` are result rows with the tables' column names.
    """
    channels = connection.execute(
        select(AlertChannel.id, AlertChannel.language).where(AlertChannel.enabled == True, or_(AlertChannel.project_id == project_id, AlertChannel.project_id == None))  # noqa: E711,E712
    ).all()
    if not channels:
        return 0
    project = connection.execute(select(Project.id, Project.slug, Project.name).where(Project.id == project_id)).one()
    issue = connection.execute(select(Issue).where(Issue.id == issue_id)).one()
    written = 0
    for channel in channels:
        payload = new_issue_payload(project, issue, channel.language, base_url, now)
        inserted = connection.execute(
            insert_for(connection, OutboxMessage)  # type: ignore[attr-defined]
            .values(
                channel_id=channel.id,
                dedupe_key=f"issue.created:{issue_id}:{channel.id}",
                kind="issue.created",
                payload=json.dumps(payload, ensure_ascii=False),
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(OutboxMessage.id)
        ).scalar_one_or_none()
        written += inserted is not None
    return written
