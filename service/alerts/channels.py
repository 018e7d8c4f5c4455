"""Alert channels. One base class does the HTTP and error handling; each kind only builds its request."""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass

import httpx

from service.db.models import AlertChannel


class DeliveryError(Exception):
    """One delivery attempt failed; the outbox retries it later."""


@dataclass(frozen=True)
class OutgoingRequest:
    url: str
    body: bytes
    headers: dict[str, str]


class Channel:
    def __init__(self, channel: AlertChannel, client: httpx.Client) -> None:
        self.channel = channel
        self.client = client

    def build(self, message_id: int, kind: str, payload: str) -> OutgoingRequest:
        raise NotImplementedError

    def send(self, message_id: int, kind: str, payload: str) -> None:
        request = self.build(message_id, kind, payload)
        try:
            response = self.client.post(request.url, content=request.body, headers=request.headers)
        except httpx.HTTPError as error:
            raise DeliveryError(f"{error.__class__.__name__}: {error}") from None
        if response.status_code >= 300:
            raise DeliveryError(f"receiver responded with HTTP {response.status_code}")


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """HMAC-SHA256 over ``"<timestamp>.<body>"``, hex encoded."""
    return hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


class WebhookChannel(Channel):
    """A JSON POST signed in ``X-Shindan-Signature: t=<unix time>,v1=<hmac>``.

    Receivers recompute the HMAC with the channel secret over the timestamp, a
    dot and the raw body, and should reject old timestamps to stop replays.
    """

    def build(self, message_id: int, kind: str, payload: str) -> OutgoingRequest:
        body = payload.encode()
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Shindan-Webhook/1",
            "X-Shindan-Event": kind,
            "X-Shindan-Delivery": str(message_id),
            "X-Shindan-Signature": f"t={timestamp},v1={sign(self.channel.secret, timestamp, body)}",
        }
        return OutgoingRequest(self.channel.url, body, headers)


CHANNEL_KINDS: dict[str, type[Channel]] = {"webhook": WebhookChannel}
