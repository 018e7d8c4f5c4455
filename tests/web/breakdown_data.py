"""Crashes and sessions from several devices, OS versions and releases, sent through the ingest endpoints."""

from __future__ import annotations

import json
import time
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


@dataclass(frozen=True)
class SessionPlan:
    """Finished sessions of one release: ``crashed`` of them crashed, spread over the users."""

    release: str
    sessions: int
    crashed: int
    users: int
    crashed_users: int
    abnormal: int = 0


# NEW_RELEASE: 37 of 40 sessions crash-free (92.50%), 17 of 20 users (85.00%), adoption 80.0%,
# and 7 crash events against 3 crashed sessions, so its data-quality warning shows.
# OLD_RELEASE: 6 of 10 sessions (60.00%), 3 of 5 users, 3 crash events against 4 crashed sessions.
SESSION_PLANS = [
    SessionPlan(NEW_RELEASE, sessions=40, crashed=3, users=20, crashed_users=3, abnormal=1),
    SessionPlan(OLD_RELEASE, sessions=10, crashed=4, users=5, crashed_users=2),
]


def plan_sessions(plan: SessionPlan, first_start: datetime) -> list[dict[str, Any]]:
    """Build the session updates of ``plan``: crashed sessions go round-robin to the first ``crashed_users`` users."""
    prefix = plan.release.rsplit("@", 1)[-1]
    sessions = []
    for index in range(plan.sessions):
        started = first_start + timedelta(minutes=index)
        if index < plan.crashed:
            status, user = "crashed", index % plan.crashed_users
        elif index < plan.crashed + plan.abnormal:
            status, user = "abnormal", plan.crashed_users + index % (plan.users - plan.crashed_users)
        else:
            status, user = "exited", plan.crashed_users + index % (plan.users - plan.crashed_users)
        sessions.append(sentry_session(plan.release, status, started, f"{prefix}-user-{user}"))
    return sessions


def send_sessions(server: Server, slug: str, plans: list[SessionPlan], first_start: datetime) -> None:
    """Send every planned session as a Sentry ``session`` envelope item, 20 items per envelope."""
    sessions = [session for plan in plans for session in plan_sessions(plan, first_start)]
    for start in range(0, len(sessions), 20):
        post_envelope(server, slug, session_envelope(sessions[start : start + 20]))


def wait_for_sessions(server: Server, slug: str, release: str, expected: int, timeout: float = 60.0) -> dict[str, Any]:
    """Poll the release breakdown API until it counts ``expected`` sessions, and return its body."""
    token = server.token("project:read")
    deadline = time.monotonic() + timeout
    body: dict[str, Any] = {}
    with server.client(token) as client:
        while time.monotonic() < deadline:
            response = client.get(f"/api/v1/projects/{slug}/releases/{release}/breakdowns")
            if response.status_code == 200:
                body = response.json()
                if body["devices"].get("total_sessions") == expected:
                    return body
            time.sleep(0.2)
    raise AssertionError(f"{release} did not reach {expected} sessions within {timeout}s (last body: {body}); job errors: {server.job_errors()}")


NATIVE_RELEASE = f"{BUNDLE}@2.5.0+430"

# (device model, OS version, sessions, crashed sessions) of NATIVE_RELEASE, sent to Shindan's own
# sessions endpoint, which unlike Sentry's session items carries the device and OS.
NATIVE_SESSIONS = [
    ("iPhone15,2", "18.1", 12, 1),
    ("iPhone9,2", "15.8", 4, 2),
    ("iPhone9,4", "15.8", 4, 0),
]


def native_session_batch(release: str, first_start: datetime) -> dict[str, Any]:
    """A ``shindan.v1.SessionBatch`` in its JSON form with one finished update per session of NATIVE_SESSIONS."""
    updates: list[dict[str, Any]] = []
    for model, os_version, sessions, crashed in NATIVE_SESSIONS:
        for index in range(sessions):
            updates.append(
                {
                    "session_id": str(uuid.uuid4()),
                    "installation_id": f"{model}-installation-{index}",
                    "init": True,
                    "started": (first_start + timedelta(minutes=len(updates))).isoformat().replace("+00:00", "Z"),
                    "status": "SESSION_STATUS_CRASHED" if index < crashed else "SESSION_STATUS_EXITED",
                    "errors": 1 if index < crashed else 0,
                    "duration_seconds": 120.0,
                    "release": release,
                    "environment": "production",
                    "os_name": "iOS",
                    "os_version": os_version,
                    "device_model": model,
                }
            )
    return {"sessions": updates}


def send_native_sessions(server: Server, slug: str, first_start: datetime) -> None:
    project = server.projects[slug]
    response = httpx.post(
        f"{server.base_url}/api/v1/projects/{slug}/sessions",
        headers={"X-Shindan-Key": project["public_key"], "Content-Type": "application/json"},
        content=json.dumps(native_session_batch(NATIVE_RELEASE, first_start)),
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"accepted": sum(sessions for _model, _os, sessions, _crashed in NATIVE_SESSIONS)}
