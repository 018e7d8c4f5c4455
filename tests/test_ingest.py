"""The Sentry ingest endpoints on a running server: encodings, auth forms, limits and status codes."""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import brotli
import httpx
import pytest
import zstandard
from sqlalchemy import text

from tests import sample_events
from tests.conftest import BACKENDS
from tests.server import Server, start_server

ENCODERS = {
    "gzip": gzip.compress,
    "deflate": zlib.compress,
    "br": brotli.compress,
    "zstd": lambda data: zstandard.ZstdCompressor().compress(data),
    "identity": lambda data: data,
}


@pytest.fixture(scope="module")
def project(server: Server) -> dict[str, Any]:
    return {**server.create_project("ingest-ios", "apple"), "read": server.token("project:read")}


def auth_header(project: dict[str, Any]) -> dict[str, str]:
    return {"X-Sentry-Auth": f"Sentry sentry_version=7, sentry_key={project['public_key']}, sentry_client=sentry.cocoa/8.40.1"}


def post_envelope(server: Server, project: dict[str, Any], body: bytes, headers: dict[str, str] | None = None, params: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(f"{server.base_url}/api/{project['id']}/envelope/", content=body, headers=headers or {}, params=params)


def quarantine_count(server: Server) -> int:
    with server.engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM quarantine")).scalar_one())


@pytest.mark.parametrize("encoding", sorted(ENCODERS))
def test_envelope_in_every_encoding_is_processed(server: Server, project: dict[str, Any], encoding: str) -> None:
    event = sample_events.ios_native_event()
    headers = {**auth_header(project), "Content-Type": "application/x-sentry-envelope"}
    if encoding != "identity":
        headers["Content-Encoding"] = encoding
    response = post_envelope(server, project, ENCODERS[encoding](sample_events.envelope(event)), headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"id": event["event_id"]}
    assert server.wait_for_event(project["read"], event["event_id"])["event_id"] == event["event_id"]


def test_key_in_query_string(server: Server, project: dict[str, Any]) -> None:
    event = sample_events.ios_native_event()
    response = post_envelope(server, project, sample_events.envelope(event), params={"sentry_key": project["public_key"], "sentry_version": "7"})
    assert response.status_code == 200, response.text


def test_key_in_envelope_dsn(server: Server, project: dict[str, Any]) -> None:
    event = sample_events.ios_native_event()
    response = post_envelope(server, project, gzip.compress(sample_events.envelope(event, dsn=project["dsn"])), {"Content-Encoding": "gzip"})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("key", [None, "0" * 32])
def test_missing_or_unknown_key_gets_one_answer(server: Server, project: dict[str, Any], key: str | None) -> None:
    headers = {"X-Sentry-Auth": f"Sentry sentry_key={key}"} if key else {}
    response = post_envelope(server, project, sample_events.envelope(sample_events.ios_native_event()), headers)
    assert response.status_code == 401
    assert response.json() == {"detail": "missing or invalid project key"}


def test_key_of_another_project_is_rejected(server: Server, project: dict[str, Any]) -> None:
    other = server.create_project("ingest-other", "android")
    response = httpx.post(f"{server.base_url}/api/{other['id']}/envelope/", content=sample_events.envelope(sample_events.ios_native_event()), headers=auth_header(project))
    assert response.status_code == 401


def test_unknown_content_encoding_is_415(server: Server, project: dict[str, Any]) -> None:
    response = post_envelope(server, project, b"xxxx", {**auth_header(project), "Content-Encoding": "lzma"})
    assert response.status_code == 415
    assert "lzma" in response.json()["detail"]


def test_malformed_envelope_is_400_and_quarantined(server: Server, project: dict[str, Any]) -> None:
    before = quarantine_count(server)
    body = b'{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc"}\n{"type":"event","length":500}\n{"short": true}\n'
    response = post_envelope(server, project, body, auth_header(project))
    assert response.status_code == 400
    assert "item 0" in response.json()["detail"]
    assert quarantine_count(server) == before + 1


def test_broken_gzip_is_400(server: Server, project: dict[str, Any]) -> None:
    body = gzip.compress(sample_events.envelope(sample_events.ios_native_event()))[:40]
    response = post_envelope(server, project, body, {**auth_header(project), "Content-Encoding": "gzip"})
    assert response.status_code == 400
    assert "truncated" in response.json()["detail"]


def test_other_item_types_are_accepted_and_skipped(server: Server, project: dict[str, Any]) -> None:
    event = sample_events.ios_native_event()
    session = json.dumps({"sid": "8f4e4c3a6b7d4f5e9a1b2c3d4e5f6a7b", "status": "crashed", "started": "2026-12-04T00:00:00Z", "attrs": {"release": "jp.clinic.app@2.3.0+45"}}).encode()
    extra = [({"type": "session"}, session), ({"type": "attachment", "filename": "log.txt"}, b"log line"), ({"type": "client_report"}, b"{}")]
    response = post_envelope(server, project, sample_events.envelope(event, extra_items=extra), auth_header(project))
    assert response.status_code == 200
    assert server.wait_for_event(project["read"], event["event_id"])["event_id"] == event["event_id"]


def test_store_endpoint_takes_json_event(server: Server, project: dict[str, Any]) -> None:
    event = sample_events.ios_native_event()
    response = httpx.post(f"{server.base_url}/api/{project['id']}/store/", content=gzip.compress(json.dumps(event).encode()), headers={**auth_header(project), "Content-Encoding": "gzip", "Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    assert response.json() == {"id": event["event_id"]}
    server.wait_for_event(project["read"], event["event_id"])


def test_store_endpoint_rejects_non_json(server: Server, project: dict[str, Any]) -> None:
    before = quarantine_count(server)
    response = httpx.post(f"{server.base_url}/api/{project['id']}/store/", content=b"<html>not an event</html>", headers=auth_header(project))
    assert response.status_code == 400
    assert quarantine_count(server) == before + 1


def test_resent_event_is_counted_once(server: Server, project: dict[str, Any]) -> None:
    event = sample_events.ios_native_event()
    for _ in range(3):
        assert post_envelope(server, project, sample_events.envelope(event), auth_header(project)).status_code == 200
    stored = server.wait_for_event(project["read"], event["event_id"])
    with server.engine.connect() as connection:
        count = connection.execute(text("SELECT count(*) FROM event WHERE event_id = :id"), {"id": event["event_id"]}).scalar_one()
        # Wait until the job queue has drained, so the retries had a chance to be stored.
        for _ in range(100):
            if connection.execute(text("SELECT count(*) FROM job WHERE status IN ('queued', 'running')")).scalar_one() == 0:
                break
            import time

            time.sleep(0.1)
        count = connection.execute(text("SELECT count(*) FROM event WHERE event_id = :id"), {"id": event["event_id"]}).scalar_one()
    assert count == 1
    assert stored["issue_id"]


def test_concurrent_requests_are_all_stored(server: Server) -> None:
    project = {**server.create_project("ingest-concurrent", "apple"), "read": server.token("project:read")}
    users = ["user-a", "user-b", "user-c"]
    events = [sample_events.ios_native_event(user_id=users[index % 3]) for index in range(60)]

    def send(event: dict[str, Any]) -> int:
        return post_envelope(server, project, gzip.compress(sample_events.envelope(event)), {**auth_header(project), "Content-Encoding": "gzip"}).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(send, events))
    assert statuses == [200] * len(events)
    issue_ids = {server.wait_for_event(project["read"], event["event_id"])["issue_id"] for event in events}
    # Workers store these in batches; the issue must still count every event and user once.
    assert len(issue_ids) == 1
    with server.client(project["read"]) as client:
        issue = client.get(f"/api/v1/issues/{issue_ids.pop()}").json()
    assert issue["count"] == 60
    assert issue["user_count"] == 3


@pytest.fixture(scope="module", params=BACKENDS[:1])
def small_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    limits = {"SHINDAN_MAX_COMPRESSED_BYTES": "20000", "SHINDAN_MAX_DECOMPRESSED_BYTES": "60000", "SHINDAN_MAX_EVENT_BYTES": "30000"}
    instance = start_server(request.param, tmp_path_factory.mktemp("small-limits"), limits)
    try:
        yield instance
    finally:
        instance.stop()


def padded_event(size: int) -> dict[str, Any]:
    event = sample_events.ios_native_event()
    event["extra"] = {"padding": "x" * size}
    return event


@pytest.mark.parametrize(
    ("name", "body_size", "compress", "setting"),
    [
        ("before decompression", 25000, False, "SHINDAN_MAX_COMPRESSED_BYTES"),
        ("decompressed body", 70000, True, "SHINDAN_MAX_DECOMPRESSED_BYTES"),
        ("event item", 35000, True, "SHINDAN_MAX_EVENT_BYTES"),
    ],
)
def test_size_limits_name_the_limit(small_server: Server, name: str, body_size: int, compress: bool, setting: str) -> None:
    project = small_server.create_project(f"limits-{setting.lower().replace('_', '-')[-20:]}", "apple")
    body = sample_events.envelope(padded_event(body_size))
    headers = auth_header(project)
    if compress:
        body = gzip.compress(body)
        headers["Content-Encoding"] = "gzip"
    response = httpx.post(f"{small_server.base_url}/api/{project['id']}/envelope/", content=body, headers=headers)
    assert response.status_code == 413
    detail = response.json()["detail"]
    assert setting in detail
    assert name in detail


def test_key_quota_answers_429_with_retry_after(server: Server) -> None:
    limited = server.create_project("ingest-quota", "apple")
    with server.engine.begin() as connection:
        connection.execute(text("UPDATE project_key SET rate_limit_per_minute = 3 WHERE public_key = :key"), {"key": limited["public_key"]})
    statuses = [post_envelope(server, limited, sample_events.envelope(sample_events.ios_native_event()), auth_header(limited)) for _ in range(5)]
    # A request that lands in the next minute window is allowed again, so allow one extra 200.
    assert [response.status_code for response in statuses].count(429) >= 1
    rejected = next(response for response in statuses if response.status_code == 429)
    assert int(rejected.headers["Retry-After"]) >= 1
    assert rejected.headers["X-Sentry-Rate-Limits"].endswith(":key:quota")
    assert "3 requests per minute" in rejected.json()["detail"]


def test_endpoints_without_trailing_slash(server: Server, project: dict[str, Any]) -> None:
    event = sample_events.ios_native_event()
    response = httpx.post(f"{server.base_url}/api/{project['id']}/envelope", content=sample_events.envelope(event), headers=auth_header(project))
    assert response.status_code == 200
    assert response.json() == {"id": event["event_id"]}
