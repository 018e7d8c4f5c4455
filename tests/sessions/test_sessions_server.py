"""Sessions through a running server: the real sentry-sdk, envelope items, the /sessions endpoint and the releases API."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import text

from service.clock import utc_now
from service.schema import sessions_pb2 as pb
from tests import sample_events
from tests.server import Server


@pytest.fixture(scope="module")
def project(server: Server) -> dict[str, Any]:
    return {**server.create_project("sessions-ios", "apple"), "read": server.token("project:read")}


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def sentry_update(sid: str, status: str, release: str, *, init: bool = False, errors: int = 0, user: str = "installation-1", started: datetime | None = None) -> bytes:
    started = started or utc_now() - timedelta(minutes=5)
    update = {
        "sid": sid,
        "did": user,
        "init": init,
        "started": iso(started),
        "timestamp": iso(utc_now()),
        "status": status,
        "errors": errors,
        "attrs": {"release": release, "environment": "production", "user_agent": "ClinicApp/2.3.0"},
    }
    return json.dumps(update).encode()


def session_envelope(*items: tuple[str, bytes]) -> bytes:
    parts = [json.dumps({"sent_at": iso(utc_now())}).encode()]
    for item_type, payload in items:
        parts += [json.dumps({"type": item_type, "length": len(payload)}).encode(), payload]
    return b"\n".join(parts) + b"\n"


def post_envelope(server: Server, project: dict[str, Any], body: bytes) -> None:
    response = httpx.post(f"{server.base_url}/api/{project['id']}/envelope/", params={"sentry_key": project["public_key"]}, content=body, timeout=30)
    assert response.status_code == 200, response.text


def post_sessions(server: Server, project: dict[str, Any], body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{server.base_url}/api/v1/projects/{project['slug']}/sessions", content=body, headers={"X-Shindan-Key": project["public_key"], **headers}, timeout=30)


def release_detail(server: Server, project: dict[str, Any], release: str, **params: str) -> httpx.Response:
    with server.client(project["read"]) as client:
        return client.get(f"/api/v1/projects/{project['slug']}/releases/{release}", params=params)


def wait_for_release(server: Server, project: dict[str, Any], release: str, sessions: int, timeout: float = 60.0) -> dict[str, Any]:
    """Poll the release until ``sessions`` sessions are counted; fail with the job errors otherwise."""
    deadline = time.monotonic() + timeout
    last: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = release_detail(server, project, release)
        if response.status_code == 200:
            last = response.json()
            if last["sessions"] >= sessions and not pending_session_jobs(server):
                return last
        time.sleep(0.2)
    raise AssertionError(f"release {release} has {last.get('sessions')} of {sessions} sessions after {timeout}s; job errors: {server.job_errors()}")


def pending_session_jobs(server: Server) -> int:
    with server.engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM job WHERE kind = 'process-sessions' AND status IN ('queued', 'running')")).scalar_one())


def quarantine_count(server: Server) -> int:
    with server.engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM quarantine")).scalar_one())


SDK_APPLICATION_SESSIONS = """
import sys
import sentry_sdk

sentry_sdk.init(dsn=sys.argv[1], release="jp.clinic.backend@1.0.0", environment="production", default_integrations=False)
scope = sentry_sdk.get_isolation_scope()
for index in range(4):
    scope.set_user({"id": f"installation-{index % 2}"})
    scope.start_session(session_mode="application")
    if index == 3:
        crash = {"level": "fatal", "exception": {"values": [{"type": "SIGABRT", "value": "abort() called", "mechanism": {"type": "signal", "handled": False}}]}}
        print(sentry_sdk.capture_event(crash))
    scope.end_session()
sentry_sdk.flush(timeout=10)
"""

SDK_REQUEST_SESSIONS = """
import sys
import sentry_sdk
from sentry_sdk.sessions import track_session

sentry_sdk.init(dsn=sys.argv[1], release="jp.clinic.api@3.1.0", environment="production", default_integrations=False, auto_session_tracking=True)
for index in range(5):
    with sentry_sdk.isolation_scope() as scope:
        with track_session(scope, session_mode="request"):
            if index == 1:
                sentry_sdk.capture_event({"level": "error", "exception": {"values": [{"type": "KeyError", "value": "slot", "mechanism": {"type": "generic", "handled": True}}]}})
            if index == 2:
                sentry_sdk.capture_event({"level": "fatal", "exception": {"values": [{"type": "RuntimeError", "value": "booking failed", "mechanism": {"type": "wsgi", "handled": False}}]}})
sentry_sdk.flush(timeout=10)
"""


def run_sdk(script: str, dsn: str) -> str:
    result = subprocess.run([sys.executable, "-c", script, dsn], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_sentry_sdk_application_sessions(server: Server, project: dict[str, Any]) -> None:
    crash_event_id = run_sdk(SDK_APPLICATION_SESSIONS, project["dsn"])
    server.wait_for_event(project["read"], crash_event_id)

    release = wait_for_release(server, project, "jp.clinic.backend@1.0.0", sessions=4)

    assert release["sessions"] == 4
    assert release["crashed_sessions"] == 1
    assert release["crash_free_sessions"] == {"value": 0.75, "numerator": 3, "denominator": 4}
    assert release["users"] == 2
    assert release["crashed_users"] == 1
    assert release["users_exact"] is True
    assert release["crash_free_users"] == {"value": 0.5, "numerator": 1, "denominator": 2}
    assert release["data_quality"] == {"warning": None, "crash_events": 1, "crashed_sessions": 1}


def test_sentry_sdk_request_mode_aggregates(server: Server, project: dict[str, Any]) -> None:
    run_sdk(SDK_REQUEST_SESSIONS, project["dsn"])

    release = wait_for_release(server, project, "jp.clinic.api@3.1.0", sessions=5)

    assert release["sessions"] == 5
    assert release["crashed_sessions"] == 1
    assert release["errored_sessions"] == 2
    assert release["healthy_sessions"] == 3
    # The Python SDK leaves the distinct id out of aggregates, so there are no users.
    assert release["users"] == 0
    assert release["crash_free_users"]["value"] is None


def test_envelope_session_items_count_once(server: Server, project: dict[str, Any]) -> None:
    release = "jp.clinic.app@2.3.0+45"
    first, second, third = (str(uuid.uuid4()) for _ in range(3))
    post_envelope(server, project, session_envelope(("session", sentry_update(first, "ok", release, init=True))))
    crashed = sentry_update(first, "crashed", release, errors=1)
    post_envelope(server, project, session_envelope(("session", crashed)))
    post_envelope(server, project, session_envelope(("session", crashed)))  # an SDK retrying after a lost 200
    # The terminal update of the second session arrives before its first update.
    post_envelope(server, project, session_envelope(("session", sentry_update(second, "exited", release, user="installation-2"))))
    post_envelope(server, project, session_envelope(("session", sentry_update(second, "ok", release, init=True, user="installation-2"))))
    post_envelope(server, project, session_envelope(("session", sentry_update(third, "ok", release, init=True, errors=2, user="installation-3"))))

    result = wait_for_release(server, project, release, sessions=3)

    assert result["sessions"] == 3
    assert result["crashed_sessions"] == 1
    assert result["errored_sessions"] == 2
    assert result["users"] == 3
    assert result["crash_free_sessions"] == {"value": round(2 / 3, 6), "numerator": 2, "denominator": 3}
    assert result["data_quality"]["warning"] is None


def test_crash_events_beyond_crashed_sessions_warn(server: Server, project: dict[str, Any]) -> None:
    release = "jp.clinic.app@2.5.0+60"
    events = []
    for _ in range(2):
        event = sample_events.ios_native_event(release=release)
        event["timestamp"] = utc_now().timestamp()
        events.append(event)
    # The first crash comes with its session update, as sentry-cocoa sends them; the second without.
    crashed_update = sentry_update(str(uuid.uuid4()), "crashed", release, init=True, errors=1)
    post_envelope(server, project, sample_events.envelope(events[0], extra_items=[({"type": "session"}, crashed_update)]))
    post_envelope(server, project, sample_events.envelope(events[1]))
    for event in events:
        server.wait_for_event(project["read"], event["event_id"])

    result = wait_for_release(server, project, release, sessions=1)

    assert result["data_quality"] == {"warning": "crash_events_exceed_crashed_sessions", "crash_events": 2, "crashed_sessions": 1}


def native_batch(release: str, started: datetime) -> pb.SessionBatch:
    timestamp = Timestamp()
    timestamp.FromDatetime(started)
    batch = pb.SessionBatch()
    for index, (status, model) in enumerate([(pb.SESSION_STATUS_EXITED, "Pixel 8"), (pb.SESSION_STATUS_CRASHED, "Pixel 8"), (pb.SESSION_STATUS_EXITED, "SM-S911B")]):
        batch.sessions.add(
            session_id=f"{release}-{index}",
            installation_id=f"install-{index}",
            init=True,
            started=timestamp,
            status=status,
            errors=1 if status == pb.SESSION_STATUS_CRASHED else 0,
            duration_seconds=60.0,
            release=release,
            environment="production",
            os_name="Android",
            os_version="14",
            device_model=model,
        )
    return batch


def test_native_protobuf_batch(server: Server, project: dict[str, Any]) -> None:
    release = "jp.clinic.android@1.4.0+140"
    body = gzip.compress(native_batch(release, utc_now() - timedelta(minutes=3)).SerializeToString())

    response = post_sessions(server, project, body, {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"})

    assert response.status_code == 200, response.text
    assert response.json() == {"accepted": 3}
    result = wait_for_release(server, project, release, sessions=3)
    assert result["crash_free_sessions"] == {"value": round(2 / 3, 6), "numerator": 2, "denominator": 3}
    assert result["crash_free_users"] == {"value": round(2 / 3, 6), "numerator": 2, "denominator": 3}
    with server.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT device_model, os_name, os_version, started, crashed FROM session_hourly WHERE release = :release ORDER BY device_model"), {"release": release}
        ).all()
    assert [tuple(row) for row in rows] == [("Pixel 8", "Android", "14", 2, 1), ("SM-S911B", "Android", "14", 1, 0)]


def test_native_json_batch_with_series(server: Server, project: dict[str, Any]) -> None:
    release = "jp.clinic.android@1.5.0+150"
    now = utc_now()
    sessions = [
        {"sessionId": "json-1", "installationId": "install-a", "started": iso(now - timedelta(hours=3)), "status": "exited", "release": release, "environment": "production"},
        {"sessionId": "json-2", "installationId": "install-a", "started": iso(now - timedelta(minutes=1)), "status": "crashed", "errors": 1, "release": release, "environment": "production"},
    ]

    response = post_sessions(server, project, json.dumps({"sessions": sessions}).encode(), {"Content-Type": "application/json"})

    assert response.status_code == 200, response.text
    assert response.json() == {"accepted": 2}
    wait_for_release(server, project, release, sessions=2)
    detail = release_detail(server, project, release, since=iso(now - timedelta(hours=4)), until=iso(now)).json()
    assert detail["interval"] == "hour"
    assert len(detail["series"]) in (4, 5)  # 4 hours, or 5 when the range does not start on the hour
    assert sum(point["sessions"] for point in detail["series"]) == 2
    assert [point["crashed_sessions"] for point in detail["series"] if point["sessions"]] == [0, 1]
    assert detail["users"] == 1
    assert detail["crash_free_users"] == {"value": 0.0, "numerator": 0, "denominator": 1}


def test_releases_list_has_adoption(server: Server, project: dict[str, Any]) -> None:
    release = "jp.clinic.app@2.6.0+70"
    post_envelope(server, project, session_envelope(("session", sentry_update(str(uuid.uuid4()), "exited", release, init=True))))
    wait_for_release(server, project, release, sessions=1)

    with server.client(project["read"]) as client:
        listing = client.get(f"/api/v1/projects/{project['slug']}/releases", params={"environment": "production"}).json()

    releases = {item["release"]: item for item in listing["releases"]}
    total = sum(item["sessions"] for item in listing["releases"])
    assert releases[release]["adoption"] == {"value": round(1 / total, 6), "numerator": 1, "denominator": total}
    assert listing["environment"] == "production"
    assert listing["since"] < listing["until"]


def test_invalid_batch_is_400_and_quarantined(server: Server, project: dict[str, Any]) -> None:
    before = quarantine_count(server)
    body = json.dumps({"sessions": [{"sessionId": "x", "release": "r@1", "status": "exited"}]}).encode()

    response = post_sessions(server, project, body, {"Content-Type": "application/json"})

    assert response.status_code == 400
    assert response.json() == {"detail": "sessions[0].started is missing"}
    assert quarantine_count(server) == before + 1


def test_oversized_batch_is_413(server: Server, project: dict[str, Any]) -> None:
    body = json.dumps({"sessions": [{"started": iso(utc_now()), "release": "r@1", "deviceModel": "x" * (1024 * 1024)}]}).encode()

    response = post_sessions(server, project, body, {"Content-Type": "application/json"})

    assert response.status_code == 413
    assert "SHINDAN_MAX_EVENT_BYTES" in response.json()["detail"]


def test_sessions_endpoint_rejects_wrong_key(server: Server, project: dict[str, Any]) -> None:
    response = httpx.post(f"{server.base_url}/api/v1/projects/{project['slug']}/sessions", content=b"{}", headers={"X-Shindan-Key": "0" * 32}, timeout=30)

    assert response.status_code == 401


def test_releases_api_needs_credentials(server: Server, project: dict[str, Any]) -> None:
    response = httpx.get(f"{server.base_url}/api/v1/projects/{project['slug']}/releases", timeout=30)

    assert response.status_code == 401


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"since": "2026-03-02T10:00:00Z", "until": "2026-03-01T10:00:00Z"}, "since must be earlier than until"),
        ({"since": "yesterday"}, "invalid since"),
    ],
)
def test_releases_api_bad_range(server: Server, project: dict[str, Any], params: dict[str, str], message: str) -> None:
    with server.client(project["read"]) as client:
        response = client.get(f"/api/v1/projects/{project['slug']}/releases", params=params)

    assert response.status_code == 400
    assert message in response.json()["detail"]


def test_release_detail_unknown_is_404(server: Server, project: dict[str, Any]) -> None:
    response = release_detail(server, project, "jp.clinic.app@9.9.9")

    assert response.status_code == 404
    assert "has no sessions or crash events" in response.json()["detail"]


def test_unparseable_session_item_fails_its_job(server: Server, project: dict[str, Any]) -> None:
    bad = json.dumps({"sid": str(uuid.uuid4()), "init": True, "started": iso(utc_now()), "status": "ok", "attrs": {"environment": "production"}}).encode()

    post_envelope(server, project, session_envelope(("session", bad)))

    deadline = time.monotonic() + 60
    errors: list[str] = []
    while time.monotonic() < deadline and not errors:
        errors = [error for error in server.job_errors() if "'attrs.release' is missing" in error]
        time.sleep(0.2)
    assert errors == ["invalid session payload: 'attrs.release' is missing: sessions are counted per release"]
    with server.engine.connect() as connection:
        kept = connection.execute(text("SELECT count(*) FROM raw_payload WHERE format = 'sentry-session'")).scalar_one()
    assert kept >= 1


def test_sessions_endpoint_takes_write_token(server: Server, project: dict[str, Any]) -> None:
    token = server.token("project:write")
    body = json.dumps({"sessions": [{"sessionId": "token-1", "started": iso(utc_now()), "status": "exited", "release": "jp.clinic.app@2.7.0+80"}]}).encode()

    response = httpx.post(
        f"{server.base_url}/api/v1/projects/{project['slug']}/sessions", content=body, headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"}, timeout=30
    )

    assert response.status_code == 200, response.text
    assert wait_for_release(server, project, "jp.clinic.app@2.7.0+80", sessions=1)["sessions"] == 1
