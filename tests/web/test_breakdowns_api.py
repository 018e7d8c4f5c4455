"""The breakdown API against a real server, fed through the Sentry envelope endpoint and the sessions endpoint."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest

from service.clock import utc_now
from tests.sample_events import envelope
from tests.server import Server
from tests.web.breakdown_data import (
    CRASHES,
    NATIVE_RELEASE,
    NEW_RELEASE,
    OLD_RELEASE,
    SESSION_PLANS,
    CrashSpec,
    crash_event,
    post_envelope,
    send_crashes,
    send_native_sessions,
    send_sessions,
    wait_for_sessions,
)

SLUG = "clinic-breakdowns"
OTHER_SLUG = "other-app"
NATIVE_SLUG = "clinic-native-sessions"


@dataclass(frozen=True)
class Sent:
    issue_id: int
    read_token: str


@pytest.fixture(scope="module")
def sent(server: Server) -> Sent:
    server.create_project(SLUG)
    server.create_project(OTHER_SLUG)
    issue_id, _event_ids = send_crashes(server, SLUG, CRASHES)
    return Sent(issue_id, server.token("project:read"))


def get_breakdowns(server: Server, token: str, path: str) -> dict[str, Any]:
    with server.client(token) as client:
        response = client.get(path)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_issue_devices_by_marketing_name(server: Server, sent: Sent) -> None:
    body = get_breakdowns(server, sent.read_token, f"/api/v1/issues/{sent.issue_id}/breakdowns")
    devices = body["devices"]
    assert devices["measure"] == "events"
    assert devices["total_events"] == 10
    assert [(value["name"], value["events"]) for value in devices["values"]] == [
        ("iPhone 14 Pro", 4),
        ("iPhone 7 Plus", 3),
        ("iPhone 8 Plus", 1),
        ("iPhone XR", 1),
        (None, 1),
    ]
    assert devices["values"][0]["models"] == ["iPhone15,2"]
    assert devices["values"][1]["models"] == ["iPhone9,2", "iPhone9,4"]
    assert devices["values"][0]["event_share"] == 0.4
    assert "models" not in devices["values"][4]
    assert devices["other"] is None
    assert "total_sessions" not in devices


def test_issue_os_and_releases(server: Server, sent: Sent) -> None:
    body = get_breakdowns(server, sent.read_token, f"/api/v1/issues/{sent.issue_id}/breakdowns")
    os_versions = [(value["name"], value["version"], value["events"]) for value in body["os_versions"]["values"]]
    assert os_versions == [("iOS", "17.4", 4), ("iOS", "15.8", 3), ("iOS", "17.2.1", 2), ("iOS", "16.7.2", 1)]
    releases = [(value["release"], value["events"], value["event_share"]) for value in body["releases"]["values"]]
    assert releases == [(NEW_RELEASE, 7, 0.7), (OLD_RELEASE, 3, 0.3)]


def test_issue_limit_merges_other(server: Server, sent: Sent) -> None:
    body = get_breakdowns(server, sent.read_token, f"/api/v1/issues/{sent.issue_id}/breakdowns?limit=2")
    devices = body["devices"]
    assert body["limit"] == 2
    assert [value["name"] for value in devices["values"]] == ["iPhone 14 Pro", "iPhone 7 Plus"]
    assert devices["other"]["values"] == 3
    assert devices["other"]["events"] == 3
    assert devices["other"]["event_share"] == 0.3
    assert body["releases"]["other"] is None


@pytest.mark.parametrize("limit", ["0", "51", "ten", "-1"])
def test_issue_invalid_limit(server: Server, sent: Sent, limit: str) -> None:
    with server.client(sent.read_token) as client:
        response = client.get(f"/api/v1/issues/{sent.issue_id}/breakdowns", params={"limit": limit})
    assert response.status_code == 400
    assert "invalid limit" in response.json()["detail"]


def test_issue_breakdowns_access(server: Server, sent: Sent) -> None:
    path = f"/api/v1/issues/{sent.issue_id}/breakdowns"
    with server.client() as client:
        assert client.get(path).status_code == 401
    other_token = server.cli("token", "create", "--scope", "project:read", "--project", OTHER_SLUG)
    with server.client(other_token) as client:
        assert client.get(path).status_code == 403
    with server.client(sent.read_token) as client:
        missing = client.get("/api/v1/issues/999999/breakdowns")
    assert missing.status_code == 404
    assert missing.json()["detail"] == "issue 999999 not found"


def test_release_events_without_sessions(server: Server, sent: Sent) -> None:
    body = get_breakdowns(server, sent.read_token, f"/api/v1/projects/{SLUG}/releases/{OLD_RELEASE}/breakdowns")
    assert body["release"] == OLD_RELEASE
    assert body["environment"] is None
    since = datetime.fromisoformat(body["since"])
    until = datetime.fromisoformat(body["until"])
    assert timedelta(days=7) <= until - since <= timedelta(days=7, hours=1)
    devices = body["devices"]
    assert devices["total_events"] == 3
    assert [(value["name"], value["events"]) for value in devices["values"]] == [("iPhone 14 Pro", 1), ("iPhone 7 Plus", 1), ("iPhone XR", 1)]
    assert "releases" not in body


def test_release_breakdowns_errors(server: Server, sent: Sent) -> None:
    with server.client(sent.read_token) as client:
        unknown = client.get(f"/api/v1/projects/{SLUG}/releases/{SLUG}@9.9.9/breakdowns")
        bad_since = client.get(f"/api/v1/projects/{SLUG}/releases/{OLD_RELEASE}/breakdowns", params={"since": "last week"})
        other_environment = client.get(f"/api/v1/projects/{SLUG}/releases/{OLD_RELEASE}/breakdowns", params={"environment": "staging"})
        no_project = client.get(f"/api/v1/projects/no-such-app/releases/{OLD_RELEASE}/breakdowns")
    assert unknown.status_code == 404
    assert "has no sessions or crash events between" in unknown.json()["detail"]
    assert bad_since.status_code == 400
    assert "invalid since" in bad_since.json()["detail"]
    assert other_environment.status_code == 404
    assert no_project.status_code == 404


@pytest.fixture(scope="module")
def sessions(server: Server, sent: Sent) -> dict[str, Any]:
    send_sessions(server, SLUG, SESSION_PLANS, utc_now() - timedelta(hours=2))
    wait_for_sessions(server, SLUG, OLD_RELEASE, 10)
    return wait_for_sessions(server, SLUG, NEW_RELEASE, 40)


def test_release_sessions_and_crashes_combined(server: Server, sent: Sent, sessions: dict[str, Any]) -> None:
    devices = sessions["devices"]
    assert devices["measure"] == "sessions"
    assert devices["total_sessions"] == 40
    assert devices["total_events"] == 7
    # Sentry session items carry no device, so every session is in the unknown bucket.
    unknown = devices["values"][0]
    assert unknown["name"] is None
    assert unknown["sessions"] == 40
    assert unknown["crashed_sessions"] == 3
    assert unknown["session_share"] == 1.0
    assert unknown["crash_free_sessions"] == {"numerator": 37, "denominator": 40, "value": 0.925}
    assert unknown["events"] == 1
    named = [(value["name"], value["sessions"], value["events"]) for value in devices["values"][1:]]
    assert named == [("iPhone 14 Pro", 0, 3), ("iPhone 7 Plus", 0, 2), ("iPhone 8 Plus", 0, 1)]
    assert devices["values"][1]["crash_free_sessions"] == {"numerator": 0, "denominator": 0, "value": None}
    os_versions = sessions["os_versions"]
    assert os_versions["values"][0]["version"] is None
    assert os_versions["values"][0]["sessions"] == 40


def test_release_crash_events_only(server: Server, sent: Sent, sessions: dict[str, Any]) -> None:
    """Events of issues that are not crashes (here: a handled error) stay out of the release breakdown."""
    error = crash_event(CrashSpec("iPhone15,2", "17.4", NEW_RELEASE, "user-handled"), utc_now() - timedelta(minutes=1))
    error["level"] = "error"
    error["exception"]["values"][0]["mechanism"]["handled"] = True
    error["exception"]["values"][0]["type"] = "HandledLookupError"
    post_envelope(server, SLUG, envelope(error))
    processed = server.wait_for_event(sent.read_token, error["event_id"])
    assert processed["issue_id"] != sent.issue_id
    body = get_breakdowns(server, sent.read_token, f"/api/v1/projects/{SLUG}/releases/{NEW_RELEASE}/breakdowns")
    assert body["devices"]["total_events"] == 7


def test_release_sessions_per_device(server: Server, sent: Sent) -> None:
    """Shindan's own sessions endpoint carries the device, so sessions split by marketing name."""
    server.create_project(NATIVE_SLUG)
    send_native_sessions(server, NATIVE_SLUG, utc_now() - timedelta(hours=1))
    body = wait_for_sessions(server, NATIVE_SLUG, NATIVE_RELEASE, 20)
    devices = [
        (value["name"], value["models"], value["sessions"], value["crash_free_sessions"]["numerator"], value["session_share"])
        for value in body["devices"]["values"]
    ]
    assert devices == [("iPhone 14 Pro", ["iPhone15,2"], 12, 11, 0.6), ("iPhone 7 Plus", ["iPhone9,2", "iPhone9,4"], 8, 6, 0.4)]
    os_versions = [(value["name"], value["version"], value["sessions"], value["crashed_sessions"]) for value in body["os_versions"]["values"]]
    assert os_versions == [("iOS", "18.1", 12, 1), ("iOS", "15.8", 8, 2)]
    assert body["devices"]["total_events"] == 0
