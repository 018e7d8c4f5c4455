"""Crashes and sessions from several devices, OS versions and releases, sent through the ingest endpoints."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from service.clock import utc_now
from tests.sample_events import envelope
from tests.server import Server
from tests.web.crash_event import ios_crash_event, new_event_id

BUNDLE = "jp.clinic.ClinicApp"
NEW_RELEASE = f"{BUNDLE}@2.4.0+420"
OLD_RELEASE = f"{BUNDLE}@2.3.0+417"


@dataclass(frozen=True)
class CrashSpec:
    model: str
    os_version: str
    release: str
    user: str


# Ten crashes of one issue: iPhone9,2 and iPhone9,4 are both an iPhone 7 Plus.
CRASHES = [
    CrashSpec("iPhone15,2", "17.2.1", NEW_RELEASE, "user-1"),
    CrashSpec("iPhone15,2", "17.2.1", NEW_RELEASE, "user-2"),
    CrashSpec("iPhone15,2", "17.4", NEW_RELEASE, "user-3"),
    CrashSpec("iPhone15,2", "17.4", OLD_RELEASE, "user-4"),
    CrashSpec("iPhone9,4", "15.8", NEW_RELEASE, "user-5"),
    CrashSpec("iPhone9,2", "15.8", NEW_RELEASE, "user-6"),
    CrashSpec("iPhone9,4", "15.8", OLD_RELEASE, "user-7"),
    CrashSpec("iPhone10,2", "16.7.2", NEW_RELEASE, "user-8"),
    CrashSpec("iPhone11,8", "17.4", OLD_RELEASE, "user-9"),
    CrashSpec("", "17.4", NEW_RELEASE, "user-10"),
]


def crash_event(spec: CrashSpec, when: datetime) -> dict[str, Any]:
    event = ios_crash_event(new_event_id(), when, user_id=spec.user)
    event["release"] = spec.release
    event["contexts"]["device"]["model"] = spec.model
    event["contexts"]["os"]["version"] = spec.os_version
    if not spec.model:
        del event["contexts"]["device"]["model"]
    return event


def post_envelope(server: Server, slug: str, body: bytes) -> None:
    project = server.projects[slug]
    response = httpx.post(
        f"{server.base_url}/api/{project['id']}/envelope/",
        params={"sentry_key": project["public_key"]},
        content=body,
        headers={"Content-Type": "application/x-sentry-envelope"},
        timeout=30,
    )
    assert response.status_code == 200, response.text


def send_crashes(server: Server, slug: str, specs: list[CrashSpec]) -> tuple[int, list[str]]:
    """Send one crash per spec and wait until all are processed. Return the issue id and the event ids."""
    read_token = server.token("project:read")
    start = utc_now() - timedelta(minutes=len(specs))
    events = [crash_event(spec, start + timedelta(minutes=index)) for index, spec in enumerate(specs)]
    for event in events:
        post_envelope(server, slug, envelope(event))
    issue_ids = {server.wait_for_event(read_token, event["event_id"])["issue_id"] for event in events}
    assert len(issue_ids) == 1, f"the crashes were grouped into several issues: {issue_ids}"
    return issue_ids.pop(), [event["event_id"] for event in events]


def session_envelope(sessions: list[dict[str, Any]]) -> bytes:
    """An envelope with one ``session`` item per update, as sentry-cocoa sends them."""
    parts = [json.dumps({"sent_at": utc_now().isoformat()}).encode()]
    for session in sessions:
        payload = json.dumps(session).encode()
        parts += [json.dumps({"type": "session", "length": len(payload)}).encode(), payload]
    return b"\n".join(parts) + b"\n"


def sentry_session(release: str, status: str, started: datetime, user: str, errors: int = 0) -> dict[str, Any]:
    """A finished Sentry session update (``init`` and the final status in one update)."""
    return {
        "sid": str(uuid.uuid4()),
        "did": user,
        "init": True,
        "started": started.isoformat().replace("+00:00", "Z"),
        "timestamp": (started + timedelta(minutes=5)).isoformat().replace("+00:00", "Z"),
        "status": status,
        "errors": errors if status != "crashed" else max(errors, 1),
        "duration": 300.0,
        "attrs": {"release": release, "environment": "production"},
    }
