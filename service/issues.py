"""Issue state changes, all in one place.

Statuses: ``unresolved``, ``resolved``, ``ignored``. A new event on a resolved
issue makes it ``unresolved`` again (a regression). Side effects such as alerts
are written to the outbox in the same transaction and sent after commit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.engine import Connection

from service.db.models import Issue

STATUSES = ("unresolved", "resolved", "ignored")
_ALLOWED: dict[str, frozenset[str]] = {
    "unresolved": frozenset({"resolved", "ignored"}),
    "resolved": frozenset({"unresolved"}),
    "ignored": frozenset({"unresolved", "resolved"}),
}


class ForbiddenTransition(ValueError):
    def __init__(self, current: str, requested: str) -> None:
        super().__init__(f"cannot change an issue from {current!r} to {requested!r}")
        self.current = current
        self.requested = requested


def check_transition(current: str, requested: str) -> None:
    if requested not in STATUSES:
        raise ForbiddenTransition(current, requested)
    if requested != current and requested not in _ALLOWED[current]:
        raise ForbiddenTransition(current, requested)


def change_status(connection: Connection, issue_id: int, current: str, requested: str, now: datetime) -> None:
    check_transition(current, requested)
    resolved_at = now if requested == "resolved" else None
    connection.execute(update(Issue).where(Issue.id == issue_id).values(status=requested, resolved_at=resolved_at))  # type: ignore[arg-type]


def reopen_on_event(connection: Connection, issue_id: int, current: str) -> bool:
    """Reopen a resolved issue that got a new event; return True when it regressed."""
    if current != "resolved":
        return False
    connection.execute(update(Issue).where(Issue.id == issue_id).values(status="unresolved", resolved_at=None))  # type: ignore[arg-type]
    return True
