"""Closed-loop load: pre-built gzip envelopes posted over ``concurrency`` keep-alive connections.

The approach is bench-peer's ``loadgen.py``: every body is built before the clock starts
(a fresh event id and ``sent_at`` each), and each connection sends its next envelope as
soon as the previous response arrived. The run stops after ``count`` requests or at the
deadline, whichever comes first.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import math
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

EVENT_ID_PLACEHOLDER = "f" * 32
GZIP_LEVEL = 6


@dataclass(frozen=True)
class Envelopes:
    bodies: list[bytes]
    event_ids: list[str]
    raw_bytes: int  # one envelope before compression


@dataclass(frozen=True)
class RequestResult:
    started: float  # time.monotonic()
    finished: float
    status: int | str  # HTTP status, or the exception name, or "deadline" for a request never sent

    @property
    def latency_ms(self) -> float:
        return (self.finished - self.started) * 1000


def build_envelopes(event: dict[str, Any], dsn: str, count: int) -> Envelopes:
    """Return ``count`` gzip-compressed envelopes of ``event``, each with its own event id."""
    template = json.dumps({**event, "event_id": EVENT_ID_PLACEHOLDER}, separators=(",", ":")).encode()
    if template.count(EVENT_ID_PLACEHOLDER.encode()) != 1:
        raise ValueError("the event contains the event id placeholder more than once")
    sdk = {"name": event["sdk"]["name"], "version": event["sdk"]["version"]}
    bodies: list[bytes] = []
    event_ids: list[str] = []
    raw = b""
    for _ in range(count):
        event_id = uuid.uuid4().hex
        payload = template.replace(EVENT_ID_PLACEHOLDER.encode(), event_id.encode(), 1)
        sent_at = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        envelope_header = json.dumps({"event_id": event_id, "sent_at": sent_at, "dsn": dsn, "sdk": sdk}, separators=(",", ":")).encode()
        item_header = json.dumps({"type": "event", "length": len(payload), "content_type": "application/json"}, separators=(",", ":")).encode()
        raw = envelope_header + b"\n" + item_header + b"\n" + payload + b"\n"
        bodies.append(gzip.compress(raw, compresslevel=GZIP_LEVEL))
        event_ids.append(event_id)
    return Envelopes(bodies, event_ids, len(raw))


def sentry_headers(event: dict[str, Any], public_key: str) -> dict[str, str]:
    client = f"{event['sdk']['name']}/{event['sdk']['version']}"
    return {
        "Content-Type": "application/x-sentry-envelope",
        "Content-Encoding": "gzip",
        "User-Agent": client,
        "X-Sentry-Auth": f"Sentry sentry_version=7, sentry_client={client}, sentry_key={public_key}",
    }


async def _send_all(url: str, headers: dict[str, str], bodies: list[bytes], concurrency: int, deadline: float) -> list[RequestResult]:
    results: list[RequestResult | None] = [None] * len(bodies)
    indexes = iter(range(len(bodies)))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(60.0)) as client:

        async def connection_loop() -> None:
            for index in indexes:
                started = time.monotonic()
                if started > deadline:
                    results[index] = RequestResult(started, started, "deadline")
                    continue
                status: int | str
                try:
                    response = await client.post(url, content=bodies[index], headers=headers)
                    status = response.status_code
                except httpx.HTTPError as error:
                    status = type(error).__name__
                results[index] = RequestResult(started, time.monotonic(), status)

        await asyncio.gather(*(connection_loop() for _ in range(concurrency)))
    return [result for result in results if result is not None]


def send_all(url: str, headers: dict[str, str], bodies: list[bytes], concurrency: int, deadline: float) -> list[RequestResult]:
    """Post every body (closed loop, ``concurrency`` connections) and return one result per body."""
    return asyncio.run(_send_all(url, headers, bodies, concurrency, deadline))


def percentile(sorted_values: list[float], percent: float) -> float | None:
    """Nearest-rank percentile of an ascending list: the smallest value with ``percent`` % at or below it."""
    if not sorted_values:
        return None
    rank = math.ceil(percent / 100 * len(sorted_values)) - 1
    return sorted_values[max(0, min(len(sorted_values) - 1, rank))]
