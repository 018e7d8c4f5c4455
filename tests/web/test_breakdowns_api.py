"""The breakdown API against a real server: crashes sent through the Sentry envelope endpoint."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.server import Server
from tests.web.breakdown_data import CRASHES, NEW_RELEASE, OLD_RELEASE, send_crashes

SLUG = "clinic-breakdowns"
OTHER_SLUG = "other-app"


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
    assert body["period"] == "30d"
    devices = body["devices"]
    assert devices["total_events"] == 3
    assert [(value["name"], value["events"]) for value in devices["values"]] == [("iPhone 14 Pro", 1), ("iPhone 7 Plus", 1), ("iPhone XR", 1)]
    assert "releases" not in body


def test_release_breakdowns_errors(server: Server, sent: Sent) -> None:
    with server.client(sent.read_token) as client:
        unknown = client.get(f"/api/v1/projects/{SLUG}/releases/{SLUG}@9.9.9/breakdowns")
        bad_period = client.get(f"/api/v1/projects/{SLUG}/releases/{OLD_RELEASE}/breakdowns", params={"period": "1y"})
        no_project = client.get(f"/api/v1/projects/no-such-app/releases/{OLD_RELEASE}/breakdowns")
    assert unknown.status_code == 404
    assert "has no events or sessions" in unknown.json()["detail"]
    assert bad_period.status_code == 400
    assert "invalid period" in bad_period.json()["detail"]
    assert no_project.status_code == 404
