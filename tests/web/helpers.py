"""Setting up users, projects and crashes on a test server, and logging in over plain HTTP."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import httpx

from service.clock import utc_now
from tests.sample_events import envelope
from tests.server import Server
from tests.web.crash_event import DSYM_ZIP, ios_crash_event, new_event_id

PASSWORD = "correct-horse-battery"
_CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class Crash:
    project_slug: str
    issue_id: int
    event_ids: list[str]  # oldest first
    read_token: str


def create_user(server: Server, email: str, role: str) -> None:
    server.cli("user", "create", email, "--role", role, env={"SHINDAN_USER_PASSWORD": PASSWORD})


def upload_dsym(server: Server, slug: str) -> None:
    token = server.token("symbols:write")
    with DSYM_ZIP.open("rb") as handle, server.client(token) as client:
        response = client.post(f"/api/v1/projects/{slug}/debug-files", files={"file": (DSYM_ZIP.name, handle, "application/zip")})
    assert response.status_code == 200, response.text


def send_crash(server: Server, slug: str, events: int = 2) -> Crash:
    """Send ``events`` crashes with the same stack from different users; wait until they are processed."""
    project = server.projects[slug]
    read_token = server.token("project:read")
    event_ids = []
    issue_ids = set()
    first_time = utc_now() - timedelta(minutes=events)
    for index in range(events):
        event_id = new_event_id()
        event = ios_crash_event(event_id, first_time + timedelta(minutes=index), user_id=f"patient-app-user-{index}")
        response = httpx.post(
            f"{server.base_url}/api/{project['id']}/envelope/",
            params={"sentry_key": project["public_key"]},
            content=envelope(event),
            headers={"Content-Type": "application/x-sentry-envelope"},
        )
        assert response.status_code == 200, response.text
        processed = server.wait_for_event(read_token, event_id)
        issue_ids.add(processed["issue_id"])
        event_ids.append(event_id)
    assert len(issue_ids) == 1, f"the same crash was grouped into several issues: {issue_ids}"
    return Crash(slug, issue_ids.pop(), event_ids, read_token)


def csrf_token(html: str) -> str:
    match = _CSRF_INPUT.search(html)
    assert match, "page has no CSRF token field"
    return match.group(1)


def http_login(client: httpx.Client, email: str, password: str = PASSWORD) -> httpx.Response:
    """Log ``client`` in through the login form; return the response to the form POST."""
    token = csrf_token(client.get("/login").text)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token, "next": "/"})
