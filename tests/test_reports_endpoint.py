"""``POST /api/v1/projects/{slug}/reports`` on a running server: detection, validation, quarantine, auth."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from tests import sample_events
from tests.server import Server


@pytest.fixture(scope="module")
def project(server: Server) -> dict[str, Any]:
    created = server.create_project("reports-ios", "apple")
    return {**created, "read": server.token("project:read"), "write": server.token("project:write"), "symbols": server.token("symbols:write")}


def post_report(server: Server, project: dict[str, Any], body: bytes, **kwargs: Any) -> httpx.Response:
    headers = {"X-Shindan-Key": project["public_key"], **kwargs.pop("headers", {})}
    return httpx.post(f"{server.base_url}/api/v1/projects/{project['slug']}/reports", content=body, headers=headers, timeout=60, **kwargs)


def quarantined_reasons(server: Server) -> list[str]:
    with server.engine.connect() as connection:
        return [row[0] for row in connection.execute(text("SELECT reason FROM quarantine ORDER BY id"))]


def test_sentry_event_file_becomes_event(server: Server, project: dict[str, Any]) -> None:
    event = sample_events.ios_native_event()
    response = post_report(server, project, json.dumps(event).encode())
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["format"] == "sentry-event"
    assert answer["id"] == event["event_id"]
    assert [report["event_id"] for report in answer["reports"]] == [event["event_id"]]
    assert answer["reports"][0]["threads"] > 0
    stored = server.wait_for_event(project["read"], event["event_id"])
    assert stored["event_id"] == event["event_id"]
    assert stored["issue_id"]


def test_format_can_be_forced(server: Server, project: dict[str, Any]) -> None:
    event = sample_events.ios_native_event()
    response = post_report(server, project, json.dumps(event).encode(), params={"format": "sentry-event"})
    assert response.status_code == 200, response.text
    assert response.json()["format"] == "sentry-event"


def test_unknown_format_name_is_rejected(server: Server, project: dict[str, Any]) -> None:
    response = post_report(server, project, b"{}", params={"format": "minidump"})
    assert response.status_code == 400
    assert "minidump" in response.json()["detail"]
    assert "sentry-event" in response.json()["detail"]


def test_unrecognized_body_is_quarantined(server: Server, project: dict[str, Any]) -> None:
    response = post_report(server, project, b"this is not a crash report\n" * 4)
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "not a supported crash report format" in detail
    assert detail in quarantined_reasons(server)


def test_empty_body_is_rejected(server: Server, project: dict[str, Any]) -> None:
    response = post_report(server, project, b"")
    assert response.status_code == 400
    assert "empty" in response.json()["detail"]


def test_gzip_file_without_header_is_opened(server: Server, project: dict[str, Any]) -> None:
    event = sample_events.ios_native_event()
    response = post_report(server, project, gzip.compress(json.dumps(event).encode()))
    assert response.status_code == 200, response.text
    assert response.json()["id"] == event["event_id"]


def test_content_encoding_is_honoured(server: Server, project: dict[str, Any]) -> None:
    event = sample_events.ios_native_event()
    response = post_report(server, project, gzip.compress(json.dumps(event).encode()), headers={"Content-Encoding": "gzip"})
    assert response.status_code == 200, response.text


def test_oversized_report_names_the_limit(server: Server, project: dict[str, Any]) -> None:
    body = b'{"exception": ' + b" " * (8 * 1024 * 1024) + b"}"
    response = post_report(server, project, body)
    assert response.status_code == 413
    assert "SHINDAN_MAX_REPORT_BYTES" in response.json()["detail"]


def test_wrong_key_and_unknown_project_answer_alike(server: Server, project: dict[str, Any]) -> None:
    wrong_key = httpx.post(f"{server.base_url}/api/v1/projects/{project['slug']}/reports", content=b"{}", headers={"X-Shindan-Key": "0" * 32})
    unknown_project = httpx.post(f"{server.base_url}/api/v1/projects/no-such-project/reports", content=b"{}", headers={"X-Shindan-Key": project["public_key"]})
    no_credentials = httpx.post(f"{server.base_url}/api/v1/projects/{project['slug']}/reports", content=b"{}")
    assert wrong_key.status_code == unknown_project.status_code == no_credentials.status_code == 401
    assert wrong_key.json() == unknown_project.json() == no_credentials.json()


def test_bearer_token_needs_write_scope(server: Server, project: dict[str, Any]) -> None:
    event = sample_events.ios_native_event()
    body = json.dumps(event).encode()
    url = f"{server.base_url}/api/v1/projects/{project['slug']}/reports"
    read_only = httpx.post(url, content=body, headers={"Authorization": f"Bearer {project['read']}"})
    writer = httpx.post(url, content=body, headers={"Authorization": f"Bearer {project['write']}"})
    assert read_only.status_code == 403
    assert "project:write" in read_only.json()["detail"]
    assert writer.status_code == 200, writer.text


def test_same_file_twice_is_stored_once(server: Server, project: dict[str, Any], tmp_path: Path) -> None:
    event = sample_events.ios_native_event()
    del event["event_id"]
    body = json.dumps(event).encode()
    first = post_report(server, project, body)
    second = post_report(server, project, body)
    assert first.status_code == second.status_code == 200
    assert first.json()["id"] == second.json()["id"]
    stored = server.wait_for_event(project["read"], first.json()["id"])
    third = post_report(server, project, body)
    assert third.json()["reports"][0]["already_stored"] is True
    assert first.json()["reports"][0]["already_stored"] is False
    with server.client(project["read"]) as client:
        issue = client.get(f"/api/v1/issues/{stored['issue_id']}").json()
        events = client.get(f"/api/v1/issues/{stored['issue_id']}/events").json()
    ids = [item["event_id"] for item in (events["events"] if isinstance(events, dict) else events)]
    assert ids.count(first.json()["id"]) == 1
    assert issue["count"] >= 1


def test_send_command_reports_each_file(server: Server, project: dict[str, Any], tmp_path: Path) -> None:
    good = tmp_path / "crash.json"
    event = sample_events.ios_native_event()
    good.write_text(json.dumps(event))
    bad = tmp_path / "notes.txt"
    bad.write_text("not a crash report\n")
    result = subprocess.run(
        [sys.executable, "-m", "service.cli", "send", "--url", server.base_url, "--project", project["slug"], str(good), str(bad)],
        env={**server.env, "SHINDAN_KEY": project["public_key"]},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert f"{good}: accepted as sentry-event, 1 report(s)" in result.stdout
    assert f"event {event['event_id']}" in result.stdout
    assert f"{bad}: rejected with HTTP 400" in result.stderr
    assert project["public_key"] not in result.stdout + result.stderr


def test_send_command_names_missing_settings(server: Server, tmp_path: Path) -> None:
    file = tmp_path / "crash.ips"
    file.write_text("{}")
    env = {name: value for name, value in server.env.items() if not name.startswith(("SHINDAN_KEY", "SHINDAN_TOKEN", "SHINDAN_URL", "SHINDAN_PROJECT"))}
    result = subprocess.run([sys.executable, "-m", "service.cli", "send", str(file)], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "--url" in result.stderr
    assert "--project" in result.stderr
    assert "--key" in result.stderr


def test_same_event_id_in_two_projects(server: Server, project: dict[str, Any]) -> None:
    other = server.create_project("reports-ios-copy", "apple")
    event = sample_events.ios_native_event()
    body = json.dumps(event).encode()
    for target in (project, other):
        response = httpx.post(f"{server.base_url}/api/v1/projects/{target['slug']}/reports", content=body, headers={"X-Shindan-Key": target["public_key"]})
        assert response.status_code == 200, response.text
    first = server.wait_for_event(project["read"], event["event_id"])
    scoped = server.cli("token", "create", "--scope", "project:read", "--project", other["slug"])
    with server.client(scoped) as client:
        stored = None
        for _ in range(300):
            answer = client.get(f"/api/v1/events/{event['event_id']}")
            if answer.status_code == 200:
                stored = answer.json()
                break
            time.sleep(0.1)
        assert stored is not None, f"the other project's event was not readable with its own token: {answer.status_code} {answer.text} {server.job_errors()}"
        assert stored["project_id"] == other["id"]
        by_path = client.get(f"/api/v1/projects/{other['slug']}/events/{event['event_id']}")
        assert by_path.status_code == 200
        assert by_path.json()["project_id"] == other["id"]
    with server.client(project["read"]) as client:
        chosen = client.get(f"/api/v1/events/{event['event_id']}", params={"project": other["slug"]})
    assert chosen.json()["project_id"] == other["id"]
    assert first["project_id"] == project["id"]


def test_internal_formats_cannot_be_requested(server: Server, project: dict[str, Any]) -> None:
    response = post_report(server, project, b"\x0a\x20" + b"0" * 32, params={"format": "prepared-report"})
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "unknown format 'prepared-report'" in detail
    assert "sentry-event+apple-crash" not in detail
