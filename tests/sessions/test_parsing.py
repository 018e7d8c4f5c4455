"""Parsing Sentry session items and Shindan session batches into session updates."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from service.schema import sessions_pb2 as pb
from service.sessions import native, sentry
from service.sessions.jobs import parse_payload
from service.sessions.model import InvalidSessionPayload, SessionAttributes

STARTED = datetime(2026, 3, 2, 10, 15, 30, tzinfo=UTC)


def sentry_update(**fields: object) -> bytes:
    data: dict[str, object] = {
        "sid": "7c7b6585-f901-4351-bf8d-02711b721929",
        "did": "installation-1",
        "init": True,
        "started": "2026-03-02T10:15:30.000Z",
        "timestamp": "2026-03-02T10:16:00.000Z",
        "status": "exited",
        "errors": 0,
        "duration": 30.5,
        "attrs": {"release": "jp.clinic.app@2.3.0+45", "environment": "production", "user_agent": "ClinicApp/2.3.0"},
    }
    data.update(fields)
    return json.dumps(data).encode()


def test_sentry_session_item_fields() -> None:
    update = sentry.parse_session_item(sentry_update())

    assert update.session_id == "7c7b6585-f901-4351-bf8d-02711b721929"
    assert update.distinct_id == "installation-1"
    assert update.init is True
    assert update.started == STARTED
    assert update.status == "exited"
    assert update.duration == 30.5
    # Sentry session items carry no OS or device.
    assert update.attributes == SessionAttributes("jp.clinic.app@2.3.0+45", "production", "", "", "")
    assert update.states() == ("started", "exited")


def test_sentry_session_defaults() -> None:
    update = sentry.parse_session_item(json.dumps({"started": 1772446530, "attrs": {"release": "r@1"}}).encode())

    assert update.session_id == ""
    assert update.status == "ok"
    assert update.errors == 0
    assert update.init is False
    assert update.started == STARTED


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"started": None}, "'started' is missing"),
        ({"started": "last tuesday"}, "'started' is not an RFC 3339 timestamp"),
        ({"status": "exploded"}, "'status' is not one of"),
        ({"errors": -1}, "'errors' is not a non-negative integer"),
        ({"attrs": {"environment": "production"}}, "'attrs.release' is missing"),
        ({"attrs": None}, "'attrs' is missing"),
        ({"did": 12}, "'did' is not a string"),
    ],
)
def test_sentry_session_errors_name_the_field(fields: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidSessionPayload, match=message):
        sentry.parse_session_item(sentry_update(**fields))


def test_sentry_sessions_aggregates() -> None:
    body = json.dumps(
        {
            "aggregates": [{"started": "2026-03-02T10:15:00Z", "exited": 12, "errored": 3}, {"started": "2026-03-02T11:02:00Z", "did": "u-7", "crashed": 1}],
            "attrs": {"release": "backend@1.0", "environment": "production"},
        }
    ).encode()

    groups = sentry.parse_sessions_item(body)

    assert [(group.total, group.exited, group.errored, group.crashed, group.distinct_id) for group in groups] == [(15, 12, 3, 0, ""), (1, 0, 0, 1, "u-7")]
    assert groups[0].attributes == SessionAttributes("backend@1.0", "production")


def test_sentry_sessions_bad_aggregate_named() -> None:
    body = json.dumps({"aggregates": [{"started": "2026-03-02T10:15:00Z", "exited": "many"}], "attrs": {"release": "backend@1.0"}}).encode()

    with pytest.raises(InvalidSessionPayload, match=r"aggregates\[0\]\.exited"):
        sentry.parse_sessions_item(body)


def native_batch() -> pb.SessionBatch:
    started = Timestamp()
    started.FromDatetime(STARTED)
    batch = pb.SessionBatch()
    batch.sessions.add(
        session_id="s-1",
        installation_id="inst-1",
        init=True,
        started=started,
        status=pb.SESSION_STATUS_CRASHED,
        errors=1,
        duration_seconds=12.5,
        release="jp.clinic.app@2.3.0+45",
        environment="production",
        os_name="iOS",
        os_version="17.5.1",
        device_model="iPhone15,2",
    )
    return batch


def test_native_protobuf_batch() -> None:
    (update,) = native.parse_session_batch(native_batch().SerializeToString(), native.PROTOBUF_FORMAT)

    assert update.status == "crashed"
    assert update.distinct_id == "inst-1"
    assert update.started == STARTED
    assert update.duration == 12.5
    assert update.attributes == SessionAttributes("jp.clinic.app@2.3.0+45", "production", "iOS", "17.5.1", "iPhone15,2")
    assert update.states() == ("started", "errored", "crashed")


def test_native_json_accepts_short_status() -> None:
    body = json.dumps(
        {"sessions": [{"sessionId": "s-2", "started": "2026-03-02T10:15:30Z", "status": "abnormal", "release": "r@1", "device_model": "Pixel 8"}]}
    ).encode()

    (update,) = native.parse_session_batch(body, native.JSON_FORMAT)

    assert update.status == "abnormal"
    assert update.attributes.device_model == "Pixel 8"
    assert update.duration is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"sessions": []}', "no session updates"),
        (b'{"sessions": [{"release": "r@1"}]}', r"sessions\[0\]\.started is missing"),
        (b'{"sessions": [{"started": "2026-03-02T10:15:30Z"}]}', r"sessions\[0\]\.release is missing"),
        (b'{"sessions": [{"started": "2026-03-02T10:15:30Z", "release": "r@1", "durationSeconds": -2}]}', r"duration_seconds"),
        (b'{"sessions": [{"started": "2026-03-02T10:15:30Z", "release": "r@1", "colour": "red"}]}', "does not match shindan.v1.SessionBatch"),
        (b"[1, 2]", "not a JSON object"),
        (b"{nope", "not valid JSON"),
    ],
)
def test_native_json_errors(body: bytes, message: str) -> None:
    with pytest.raises(InvalidSessionPayload, match=message):
        native.parse_session_batch(body, native.JSON_FORMAT)


def test_native_protobuf_garbage() -> None:
    with pytest.raises(InvalidSessionPayload, match="not a protobuf shindan.v1.SessionBatch"):
        native.parse_session_batch(b"\xff\xff\xff\xff", native.PROTOBUF_FORMAT)


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [
        ("application/json", b"\x0a", native.JSON_FORMAT),
        ("application/x-protobuf", b"{", native.PROTOBUF_FORMAT),
        ("", b'  {"sessions": []}', native.JSON_FORMAT),
        ("", b"\x0a\x02", native.PROTOBUF_FORMAT),
    ],
)
def test_payload_format_choice(content_type: str, body: bytes, expected: str) -> None:
    assert native.payload_format(content_type, body) == expected


def test_job_parse_drops_sessions_outside_window() -> None:
    received = datetime(2026, 3, 10, tzinfo=UTC)

    updates, groups = parse_payload("sentry-session", sentry_update(), received)

    assert updates == []
    assert groups == []
