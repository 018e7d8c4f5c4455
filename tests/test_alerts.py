"""New issues reach a loopback webhook receiver, signed, retried after a failure, and only once."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from tests import sample_events
from tests.server import Server


class Receiver:
    """An HTTP receiver on 127.0.0.1 that fails the first ``failures`` requests with HTTP 500."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.requests: list[tuple[dict[str, str], bytes, int]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = 500 if len(receiver.requests) < receiver.failures else 204
                receiver.requests.append(({key.lower(): value for key, value in self.headers.items()}, body, status))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hooks/shindan"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, count: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.requests) >= count, f"got {len(self.requests)} webhook request(s), expected {count}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    instance = Receiver(failures=1)
    try:
        yield instance
    finally:
        instance.close()


def verify_signature(secret: str, headers: dict[str, str], body: bytes) -> bool:
    fields = dict(part.split("=", 1) for part in headers["x-shindan-signature"].split(","))
    expected = hmac.new(secret.encode(), fields["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields["v1"])


def send(server: Server, project: dict[str, Any], event: dict[str, Any]) -> str:
    response = httpx.post(f"{server.base_url}/api/{project['id']}/envelope/", content=sample_events.envelope(event), params={"sentry_key": project["public_key"]})
    assert response.status_code == 200
    return str(event["event_id"])


def test_new_issue_webhook_is_signed_and_retried(server: Server, receiver: Receiver) -> None:
    project = server.create_project("alerts-ios", "apple")
    with server.client(server.token("project:write")) as client:
        created = client.post(f"/api/v1/projects/{project['slug']}/alert-channels", json={"kind": "webhook", "url": receiver.url, "name": "on-call", "language": "ja"})
    assert created.status_code == 201, created.text
    secret = created.json()["secret"]
    reader = server.token("project:read")

    event = server.wait_for_event(reader, send(server, project, sample_events.ios_native_event()))
    receiver.wait_for(2)
    (first_headers, first_body, first_status), (headers, body, status) = receiver.requests[:2]
    assert (first_status, status) == (500, 204)
    assert first_headers["x-shindan-delivery"] == headers["x-shindan-delivery"]
    assert verify_signature(secret, headers, body)
    assert not verify_signature("wrong-secret", headers, body)
    payload = json.loads(body)
    assert payload["type"] == "issue.created"
    assert payload["issue"]["id"] == event["issue_id"]
    assert payload["issue"]["url"].endswith(f"/issues/{event['issue_id']}")
    assert payload["language"] == "ja"
    assert "新しいイシュー" in payload["text"]
    assert payload["issue"]["title"] in payload["text"]

    # A second event of the same issue sends no second new-issue alert.
    server.wait_for_event(reader, send(server, project, sample_events.ios_native_event()))
    time.sleep(2.5)
    assert len(receiver.requests) == 2


def test_webhook_in_english(server: Server) -> None:
    english = Receiver(failures=0)
    try:
        project = server.create_project("alerts-android", "android")
        with server.client(server.token("project:write")) as client:
            client.post(f"/api/v1/projects/{project['slug']}/alert-channels", json={"url": english.url, "language": "en"}).raise_for_status()
        server.wait_for_event(server.token("project:read"), send(server, project, sample_events.android_java_event()))
        english.wait_for(1)
        payload = json.loads(english.requests[0][1])
        assert payload["text"].startswith("New issue in alerts-android: ")
    finally:
        english.close()


def test_channel_rejects_bad_url(server: Server) -> None:
    project = server.create_project("alerts-bad-url", "apple")
    with server.client(server.token("project:write")) as client:
        response = client.post(f"/api/v1/projects/{project['slug']}/alert-channels", json={"url": "ftp://example.invalid/x"})
    assert response.status_code == 400
    assert "ftp://" in response.json()["detail"]
