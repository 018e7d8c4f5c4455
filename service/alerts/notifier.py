"""Delivering outbox messages, with retries and exponential backoff.

A claimed message is leased before the HTTP call: its ``next_attempt_at``
moves past the delivery timeout, so another worker does not send it at the
same time. A worker that dies mid-delivery leaves it to be retried after the lease.
Delivery is therefore at least once, and receivers can use the
``X-Shindan-Delivery`` id to drop repeats.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import httpx
from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from service.alerts.channels import CHANNEL_KINDS, DeliveryError
from service.config import Settings
from service.db.models import AlertChannel, OutboxMessage
from service.metrics import COUNTERS

logger = logging.getLogger("shindan.alerts")


class Notifier:
    def __init__(self, engine: Engine, settings: Settings, client: httpx.Client | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self.client = client or httpx.Client(timeout=settings.webhook_timeout_s, follow_redirects=False)

    def deliver_due(self, now: datetime, limit: int = 20) -> int:
        """Attempt every due message (at most ``limit``); return how many were attempted."""
        lease = timedelta(seconds=self.settings.webhook_timeout_s * 3)
        with self.engine.begin() as connection:
            due = (
                select(OutboxMessage.id)
                .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
                .order_by(OutboxMessage.id)  # type: ignore[arg-type]
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            claimed = connection.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(due.scalar_subquery()))  # type: ignore[union-attr]
                .values(attempts=OutboxMessage.attempts + 1, next_attempt_at=now + lease)
                .returning(OutboxMessage.id, OutboxMessage.channel_id, OutboxMessage.kind, OutboxMessage.payload, OutboxMessage.attempts)
            ).all()
            channel_ids = {row.channel_id for row in claimed}
            channels = {
                row.id: AlertChannel(**row._mapping)
                for row in connection.execute(select(AlertChannel).where(AlertChannel.id.in_(channel_ids)))  # type: ignore[union-attr]
            }
        for row in claimed:
            self._attempt(row, channels.get(row.channel_id), now)
        return len(claimed)

    def _attempt(self, row: object, channel: AlertChannel | None, now: datetime) -> None:
        message_id: int = row.id  # type: ignore[attr-defined]
        attempts: int = row.attempts  # type: ignore[attr-defined]
        error: str | None
        if channel is None or not channel.enabled or channel.kind not in CHANNEL_KINDS:
            error = "channel is disabled or was removed"
            attempts = self.settings.outbox_max_attempts
        else:
            try:
                CHANNEL_KINDS[channel.kind](channel, self.client).send(message_id, row.kind, row.payload)  # type: ignore[attr-defined]
                error = None
            except DeliveryError as failure:
                error = str(failure)[:500]
        kind = channel.kind if channel is not None else "unknown"
        if error is None:
            values: dict[str, object] = {"status": "delivered", "delivered_at": now, "last_error": None}
            COUNTERS.inc("shindan_alerts_delivered_total", channel=kind, outcome="delivered")
            logger.info("outbox=%d delivered after %d attempt(s)", message_id, attempts)
        elif attempts >= self.settings.outbox_max_attempts:
            values = {"status": "failed", "last_error": error}
            COUNTERS.inc("shindan_alerts_delivered_total", channel=kind, outcome="failed")
            logger.error("outbox=%d failed for good after %d attempt(s): %s", message_id, attempts, error)
        else:
            delay = timedelta(seconds=self.settings.outbox_backoff_s * 2 ** (attempts - 1))
            values = {"next_attempt_at": now + delay, "last_error": error}
            COUNTERS.inc("shindan_alerts_delivered_total", channel=kind, outcome="retry")
            logger.warning("outbox=%d attempt %d failed, retry in %ds: %s", message_id, attempts, delay.total_seconds(), error)
        with self.engine.begin() as connection:
            connection.execute(update(OutboxMessage).where(OutboxMessage.id == message_id).values(**values))  # type: ignore[arg-type]
