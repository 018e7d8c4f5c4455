"""Finding and checking the project key of an SDK request."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from service.db.models import ProjectKey

_KEY_CACHE_SECONDS = 30.0


def key_from_auth_header(value: str) -> str | None:
    """Read ``sentry_key`` from an ``X-Sentry-Auth`` (or ``Authorization: Sentry ...``) value."""
    text = value.strip()
    if text.lower().startswith("sentry "):
        text = text[7:]
    for part in text.split(","):
        name, _, found = part.strip().partition("=")
        if name.strip() == "sentry_key" and found.strip():
            return found.strip()
    return None


def key_from_dsn(dsn: object) -> str | None:
    if not isinstance(dsn, str) or not dsn:
        return None
    username = urlsplit(dsn).username
    return username or None


@dataclass(frozen=True)
class KeyInfo:
    project_id: int
    active: bool
    rate_limit_per_minute: int


class KeyCache:
    """Public key → project, cached for a short time so ingest does not query per request.

    A disabled key stops working within ``_KEY_CACHE_SECONDS``.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, KeyInfo | None]] = {}

    def lookup(self, public_key: str) -> KeyInfo | None:
        now = time.monotonic()
        with self._lock:
            cached = self._entries.get(public_key)
        if cached is not None and cached[0] > now:
            return cached[1]
        with Session(self._engine) as session:
            row = session.exec(select(ProjectKey).where(ProjectKey.public_key == public_key)).first()
            info = KeyInfo(row.project_id, row.active, row.rate_limit_per_minute) if row is not None else None
        with self._lock:
            if len(self._entries) > 10000:
                self._entries.clear()
            self._entries[public_key] = (now + _KEY_CACHE_SECONDS, info)
        return info


class MinuteQuota:
    """A fixed one-minute window per key, counted in this process only.

    NOTE: with several ``serve`` processes each enforces the quota on its own
    share of the traffic, so the effective limit is a multiple of the setting.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[int, int]] = {}

    def take(self, public_key: str, limit: int, now: float) -> int:
        """Count one request; return 0 when allowed, else seconds until the window ends."""
        if limit <= 0:
            return 0
        minute = int(now // 60)
        with self._lock:
            window, used = self._windows.get(public_key, (minute, 0))
            if window != minute:
                window, used = minute, 0
            if used >= limit:
                return max(1, (minute + 1) * 60 - int(now))
            self._windows[public_key] = (window, used + 1)
        return 0
