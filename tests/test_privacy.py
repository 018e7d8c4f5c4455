"""Personal data in a crash never reaches storage: checked through the API and in the raw database."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx
from sqlalchemy import text

from tests import sample_events
from tests.server import Server

SECRETS = {
    "email": "hanako.yamada@example.jp",
    "phone_jp": "090-1234-5678",
    "phone_intl": "+81 90-1234-5678",
    "card": "4111 1111 1111 1111",
    "bearer": "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.c2lnbmF0dXJl",
    "user_id": "patient-app-user-1",
    "client_ip": "203.0.113.77",
    "header_phone": "03-3123-4567",
}


def private_event() -> dict[str, Any]:
    event = sample_events.ios_native_event(user_id=SECRETS["user_id"])
    event["message"] = {"formatted": f"booking failed for {SECRETS['email']}"}
    event["tags"]["contact"] = SECRETS["phone_jp"]
    event["request"] = {"method": "POST", "url": "https://api.clinic.example/book?token=abc", "headers": {"Authorization": f"Bearer {SECRETS['bearer']}", "X-Callback-Phone": SECRETS["header_phone"]}}
    return event


def all_database_bytes(server: Server) -> bytes:
    """Every text and blob value of every table, concatenated."""
    chunks: list[bytes] = []
    with server.engine.connect() as connection:
        for table in ("event", "issue", "issue_user", "raw_payload", "job", "outbox", "quarantine"):
            for row in connection.execute(text(f"SELECT * FROM {table}")):
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        chunks.append(bytes(value))
                    elif value is not None:
                        chunks.append(str(value).encode())
    return b"\n".join(chunks)


def test_personal_data_is_scrubbed_before_storage(server: Server) -> None:
    project = server.create_project("privacy-ios", "apple")
    reader = server.token("project:read")
    event = private_event()
    response = httpx.post(
        f"{server.base_url}/api/{project['id']}/envelope/",
        content=sample_events.envelope(event),
        params={"sentry_key": project["public_key"]},
        headers={"X-Forwarded-For": SECRETS["client_ip"]},
    )
    assert response.status_code == 200
    stored = server.wait_for_event(reader, event["event_id"])

    rendered = json.dumps(stored, ensure_ascii=False)
    database = all_database_bytes(server)
    log = server.log_text()
    for name, value in SECRETS.items():
        assert value not in rendered, f"{name} found in the API response"
        assert value.encode() not in database, f"{name} found in the database"
        assert value not in log, f"{name} found in the server log"
    # The address itself must go, whatever form a scrubber leaves behind.
    assert "example.jp" not in rendered

    # A keyed hash: not the plain SHA-256 of the id, which anyone could recompute.
    id_hash = stored["user"]["id_hash"]
    assert len(id_hash) == 64
    assert id_hash != hashlib.sha256(SECRETS["user_id"].encode()).hexdigest()
    assert any(note["step"] == "scrub" for note in stored["notes"])


def test_same_user_hashes_the_same(server: Server) -> None:
    project = server.create_project("privacy-users", "apple")
    reader = server.token("project:read")
    hashes = []
    for user in ("install-a", "install-a", "install-b"):
        event = sample_events.ios_native_event(user_id=user)
        httpx.post(f"{server.base_url}/api/{project['id']}/envelope/", content=sample_events.envelope(event), params={"sentry_key": project["public_key"]}).raise_for_status()
        hashes.append(server.wait_for_event(reader, event["event_id"])["user"]["id_hash"])
    assert hashes[0] == hashes[1]
    assert hashes[0] != hashes[2]


def test_raw_payload_is_gone_after_processing(server: Server) -> None:
    project = server.create_project("privacy-raw", "apple")
    event = private_event()
    httpx.post(f"{server.base_url}/api/{project['id']}/envelope/", content=sample_events.envelope(event), params={"sentry_key": project["public_key"]}).raise_for_status()
    server.wait_for_event(server.token("project:read"), event["event_id"])
    with server.engine.connect() as connection:
        remaining = connection.execute(text("SELECT count(*) FROM raw_payload WHERE event_id = :id"), {"id": event["event_id"]}).scalar_one()
    assert remaining == 0
