"""Symbols uploaded after the crash: events are symbolicated again, issues fold, and one alert goes out."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from tests import sample_events
from tests.conftest import BACKENDS
from tests.sample_events import FIXTURES, address, native_image
from tests.server import Server, start_server
from tests.test_alerts import Receiver
from tests.web.helpers import create_user, http_login

IOS_EXPECTED_CHAIN = ["crash_site", "cpp_caller", "swift_caller", "objc_method_caller", "objc_send_caller", "c_main_caller"]
DSYM_ZIP = FIXTURES / "ios" / "ClinicApp.app.dSYM.zip"
MAPPING = FIXTURES / "java" / "mapping.txt"
DEMO_ENVELOPE = FIXTURES / "events" / "ios-native-crash.envelope"
CLINIC_APP_DEBUG_ID = native_image("ClinicApp")["debug_id"]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    instance = Receiver(failures=0)
    try:
        yield instance
    finally:
        instance.close()


def new_project(server: Server, slug: str, platform: str, receiver: Receiver | None = None) -> dict[str, Any]:
    project = server.create_project(slug, platform)
    tokens = {"read": server.token("project:read"), "upload": server.token("symbols:write")}
    if receiver is not None:
        with server.client(server.token("project:write")) as client:
            response = client.post(f"/api/v1/projects/{slug}/alert-channels", json={"url": receiver.url, "language": "en"})
            assert response.status_code == 201, response.text
            tokens["channel_id"] = response.json()["id"]
    return {**project, **tokens}


def send_event(server: Server, project: dict[str, Any], event: dict[str, Any]) -> str:
    response = httpx.post(f"{server.base_url}/api/{project['id']}/envelope/", content=sample_events.envelope(event), params={"sentry_key": project["public_key"]})
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def send_envelope_file(server: Server, project: dict[str, Any], path: Path) -> str:
    response = httpx.post(f"{server.base_url}/api/{project['id']}/envelope/", content=path.read_bytes(), params={"sentry_key": project["public_key"]})
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def upload(server: Server, project: dict[str, Any], path: Path) -> list[dict[str, Any]]:
    with path.open("rb") as handle, server.client(project["upload"]) as client:
        response = client.post(f"/api/v1/projects/{project['slug']}/debug-files", files={"file": (path.name, handle)})
    assert response.status_code == 200, response.text
    return response.json()["files"]  # type: ignore[no-any-return]


def get_json(server: Server, token: str, path: str, **params: str) -> Any:
    with server.client(token) as client:
        response = client.get(path, params=params)
    assert response.status_code == 200, f"{path}: {response.status_code} {response.text}"
    return response.json()


def wait_until(description: str, check: Callable[[], Any], timeout: float = 60.0) -> Any:
    """Poll ``check`` until it returns a true value; fail naming ``description`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {description}")


def wait_for_new_issue(server: Server, project: dict[str, Any], event_id: str, old_issue_id: int) -> dict[str, Any]:
    def moved() -> dict[str, Any] | None:
        event = get_json(server, project["read"], f"/api/v1/events/{event_id}")
        return event if event["issue_id"] != old_issue_id else None

    try:
        return wait_until(f"event {event_id} to leave issue {old_issue_id}", moved)  # type: ignore[no-any-return]
    except AssertionError:
        raise AssertionError(f"event {event_id} stayed in issue {old_issue_id}; job errors: {server.job_errors()}") from None


def wait_for_idle_reprocessing(server: Server, project: dict[str, Any]) -> dict[str, Any]:
    def idle() -> dict[str, Any] | None:
        status = get_json(server, project["read"], f"/api/v1/projects/{project['slug']}/symbols/status")
        return status if status["reprocess_jobs_pending"] == 0 and status["events_ready"] == 0 else None

    return wait_until("reprocessing to finish", idle)  # type: ignore[no-any-return]


def issue_row(server: Server, issue_id: int) -> dict[str, Any]:
    with server.engine.connect() as connection:
        row = connection.execute(text("SELECT count, user_count, merged_into_id, first_seen, last_seen FROM issue WHERE id = :id"), {"id": issue_id}).one()
    return dict(row._mapping)


def alert_rows(server: Server, channel_id: int) -> list[dict[str, Any]]:
    with server.engine.connect() as connection:
        rows = connection.execute(text("SELECT dedupe_key, status, payload FROM outbox WHERE channel_id = :id ORDER BY id"), {"id": channel_id}).all()
    return [dict(row._mapping) for row in rows]


def app_frames(event: dict[str, Any]) -> list[dict[str, Any]]:
    crashed = next(thread for thread in event["threads"] if thread["crashed"])
    return [frame for frame in crashed["frames"] if frame["package"] and frame["package"].endswith("/ClinicApp")]


def expected_ios_frames() -> list[tuple[str, str, int]]:
    image = native_image("ClinicApp")
    expected: list[tuple[str, str, int]] = []
    for label in IOS_EXPECTED_CHAIN:
        expected += [(answer["function"], answer["file"], answer["line"]) for answer in address(image, label)["frames"]]
    return expected


def unresolved_on_project_list(server: Server, slug: str) -> int:
    """Read the project's "Unresolved issues" cell from the web project list."""
    email = f"lister-{slug}@example.com"
    if (server.base_url, email) not in LISTERS:
        create_user(server, email, "viewer")
        LISTERS.add((server.base_url, email))
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        http_login(client, email)
        page = client.get("/").text
    row = re.search(rf'<tr data-project="{re.escape(slug)}">.*?<td class="num">([\d,]+)</td>', page, re.S)
    assert row, f"project {slug} is not on the project list"
    return int(row.group(1).replace(",", ""))


LISTERS: set[tuple[str, str]] = set()  # (server, e-mail) of viewers already created


def same_time(left: str, right: str) -> bool:
    return datetime.fromisoformat(left) == datetime.fromisoformat(right)


def test_ios_crash_folds_after_dsym_upload(server: Server, receiver: Receiver) -> None:
    project = new_project(server, "late-ios", "apple", receiver)
    event_id = send_envelope_file(server, project, DEMO_ENVELOPE)
    before = server.wait_for_event(project["read"], event_id)
    old_issue_id = before["issue_id"]
    assert before["symbolication"] != "complete"
    assert app_frames(before), "the fixture event has no ClinicApp frames"
    assert all(frame["status"] == "missing_symbols" for frame in app_frames(before))
    receiver.wait_for(1)
    assert json.loads(receiver.requests[0][1])["issue"]["id"] == old_issue_id

    missing = get_json(server, project["read"], f"/api/v1/projects/{project['slug']}/symbols/missing")
    assert missing["complete"] is False
    entries = {entry["debug_id"]: entry for entry in missing["needed"]}
    assert set(entries) == {CLINIC_APP_DEBUG_ID}, "system libraries are listed only on request"
    assert entries[CLINIC_APP_DEBUG_ID]["kind"] == "macho"
    assert entries[CLINIC_APP_DEBUG_ID]["events"] == 1
    assert entries[CLINIC_APP_DEBUG_ID]["available"] is False
    assert entries[CLINIC_APP_DEBUG_ID]["code_file"].endswith("/ClinicApp")
    assert f"--project {project['slug']}" in missing["upload_command"]
    with_system = get_json(server, project["read"], f"/api/v1/projects/{project['slug']}/symbols/missing", include_system="true")
    assert sample_events.SYSTEM_KERNEL_DEBUG_ID in {entry["debug_id"] for entry in with_system["needed"]}
    assert get_json(server, project["read"], f"/api/v1/projects/{project['slug']}/symbols/status")["events_waiting"] == 1

    upload(server, project, DSYM_ZIP)
    after = wait_for_new_issue(server, project, event_id, old_issue_id)
    assert after["symbolication"] != "missing"
    assert [(frame["raw_function"], frame["abs_path"] or frame["filename"], frame["lineno"]) for frame in app_frames(after)] == expected_ios_frames()
    assert all(frame["status"] == "symbolicated" for frame in app_frames(after))
    # The kept report was scrubbed once, before it was stored; reprocessing does not scrub it again.
    assert [note["step"] for note in before["notes"]].count("scrub") == 1
    assert [note["step"] for note in after["notes"]].count("scrub") == 1

    new_issue = get_json(server, project["read"], f"/api/v1/issues/{after['issue_id']}")
    assert new_issue["count"] == 1
    assert new_issue["user_count"] == 1
    assert new_issue["title"].startswith("EXC_BREAKPOINT")
    assert new_issue["culprit"] == "ClinicApp::Scheduler::ensureCapacity (Scheduler.cpp)"
    assert same_time(new_issue["first_seen"], after["timestamp"])
    assert same_time(new_issue["last_seen"], after["timestamp"])

    old = issue_row(server, old_issue_id)
    assert (old["count"], old["user_count"], old["merged_into_id"]) == (0, 0, after["issue_id"])
    with server.client(project["read"]) as client:
        redirect = client.get(f"/api/v1/issues/{old_issue_id}")
        assert redirect.status_code == 308
        assert redirect.headers["location"] == f"/api/v1/issues/{after['issue_id']}"
        assert client.get(f"/api/v1/issues/{old_issue_id}", follow_redirects=True).json()["id"] == after["issue_id"]
        listed = client.get(f"/api/v1/projects/{project['slug']}/issues", params={"status": "all"}).json()
    assert [issue["id"] for issue in listed] == [after["issue_id"]]
    assert unresolved_on_project_list(server, project["slug"]) == 1

    status = wait_for_idle_reprocessing(server, project)
    assert status["events_waiting"] == 0
    needed = get_json(server, project["read"], f"/api/v1/projects/{project['slug']}/symbols/needed")
    assert needed["complete"] is True
    assert [(entry["debug_id"], entry["available"], entry["events_waiting"]) for entry in needed["needed"]] == [(CLINIC_APP_DEBUG_ID, True, 0)]
    assert get_json(server, project["read"], f"/api/v1/projects/{project['slug']}/symbols/missing")["needed"] == []

    # A crash after the upload goes straight to the real issue, and still no second alert.
    second = server.wait_for_event(project["read"], send_event(server, project, sample_events.ios_native_event(user_id="patient-app-user-2")))
    assert second["issue_id"] == after["issue_id"]
    assert get_json(server, project["read"], f"/api/v1/issues/{after['issue_id']}")["count"] == 2
    alerts = [(row["dedupe_key"].split(":")[1], row["status"]) for row in alert_rows(server, project["channel_id"])]
    assert alerts == [(str(old_issue_id), "delivered"), (str(after["issue_id"]), "suppressed")]
    assert len(receiver.requests) == 1


def test_java_crash_folds_after_mapping_upload(server: Server, receiver: Receiver) -> None:
    project = new_project(server, "late-android", "android", receiver)
    mapping_uuid = sample_events.expected()["java"]["mapping_uuid"]
    event_id = send_event(server, project, sample_events.android_java_event(user_id="install-7"))
    before = server.wait_for_event(project["read"], event_id)
    old_issue_id = before["issue_id"]
    cause = before["exceptions"][1]
    assert cause["frames"] and all(frame["status"] == "missing_symbols" for frame in cause["frames"])
    receiver.wait_for(1)

    missing = get_json(server, project["read"], f"/api/v1/projects/{project['slug']}/symbols/missing", release="jp.clinic.app@1.4.0+140")
    assert [(entry["kind"], entry["debug_id"], entry["events"]) for entry in missing["needed"]] == [("proguard", mapping_uuid, 1)]
    assert any(f"--uuid {mapping_uuid}" in command for command in missing["sentry_cli_commands"])

    files = upload(server, project, MAPPING)
    assert mapping_uuid in [item["debug_id"] for item in files]
    after = wait_for_new_issue(server, project, event_id, old_issue_id)
    top, cause = after["exceptions"]
    assert f"{top['module']}.{top['type']}" == "jp.clinic.app.BookingFailedException"
    clean = sample_events.expected()["java"]["exceptions"][1]
    assert [(frame["module"], frame["function"], frame["lineno"]) for frame in cause["frames"]] == [(frame["class"], frame["method"], frame["line"]) for frame in clean["frames"]]

    new_issue = get_json(server, project["read"], f"/api/v1/issues/{after['issue_id']}")
    assert (new_issue["count"], new_issue["user_count"]) == (1, 1)
    assert "BookingFailedException" in new_issue["title"]
    old = issue_row(server, old_issue_id)
    assert (old["count"], old["user_count"], old["merged_into_id"]) == (0, 0, after["issue_id"])
    with server.client(project["read"]) as client:
        events = client.get(f"/api/v1/issues/{old_issue_id}/events", follow_redirects=True)
    assert [event["event_id"] for event in events.json()] == [event_id]

    wait_for_idle_reprocessing(server, project)
    assert [row["status"] for row in alert_rows(server, project["channel_id"])] == ["delivered", "suppressed"]
    assert len(receiver.requests) == 1


def test_partial_fold_keeps_old_issue_counts(server: Server) -> None:
    """Two releases crash in one image: needs are counted per release, and one upload folds both events."""
    project = new_project(server, "late-partial", "apple")
    release_a, release_b = "jp.clinic.app@2.3.0+45", "jp.clinic.app@2.4.0+51"
    first = server.wait_for_event(project["read"], send_event(server, project, sample_events.ios_native_event(release=release_a, user_id="user-a")))
    second = server.wait_for_event(project["read"], send_event(server, project, sample_events.ios_native_event(0x104F00000, release=release_b, user_id="user-b")))
    assert first["issue_id"] == second["issue_id"]
    old_issue_id = first["issue_id"]
    assert (issue_row(server, old_issue_id)["count"], issue_row(server, old_issue_id)["user_count"]) == (2, 2)

    per_release = get_json(server, project["read"], f"/api/v1/projects/{project['slug']}/symbols/needed", release=release_a)
    assert per_release["release"] == release_a
    assert [entry["events"] for entry in per_release["needed"]] == [1]
    overall = get_json(server, project["read"], f"/api/v1/projects/{project['slug']}/symbols/needed")
    assert [entry["events"] for entry in overall["needed"]] == [2]

    # Both events share the image's debug id, so one upload fixes both and the old issue empties.
    upload(server, project, DSYM_ZIP)
    moved = wait_for_new_issue(server, project, first["event_id"], old_issue_id)
    wait_for_new_issue(server, project, second["event_id"], old_issue_id)
    new_issue = get_json(server, project["read"], f"/api/v1/issues/{moved['issue_id']}")
    assert (new_issue["count"], new_issue["user_count"]) == (2, 2)
    assert new_issue["first_release"] == release_a
    assert new_issue["last_release"] == release_b
    assert issue_row(server, old_issue_id)["merged_into_id"] == moved["issue_id"]


def test_reprocess_job_run_twice_changes_nothing(server: Server) -> None:
    project = new_project(server, "late-twice", "apple")
    event_id = send_event(server, project, sample_events.ios_native_event(user_id="user-twice"))
    old_issue_id = server.wait_for_event(project["read"], event_id)["issue_id"]
    upload(server, project, DSYM_ZIP)
    new_issue_id = wait_for_new_issue(server, project, event_id, old_issue_id)["issue_id"]
    wait_for_idle_reprocessing(server, project)

    # Queue another job by hand, and upload the same file again: neither finds work.
    with server.engine.begin() as connection:
        connection.execute(
            text("INSERT INTO job (kind, project_id, status, attempts, available_at, created_at) VALUES ('reprocess-symbols', :project, 'queued', 0, :now, :now)"),
            {"project": project["id"], "now": datetime.now().astimezone()},
        )
    upload(server, project, DSYM_ZIP)
    wait_for_idle_reprocessing(server, project)
    assert get_json(server, project["read"], f"/api/v1/issues/{new_issue_id}")["count"] == 1
    assert issue_row(server, new_issue_id)["user_count"] == 1
    assert issue_row(server, old_issue_id)["count"] == 0
    assert server.job_errors() == []


def test_corpus_objc_crash_symbolicated_late(server: Server, corpus: Path, receiver: Receiver) -> None:
    project = new_project(server, "late-crashprobe", "apple", receiver)
    event = json.loads((corpus / "C005-crashprobe-pthread-list-lock.sentry.json").read_text())
    response = httpx.post(f"{server.base_url}/api/{project['id']}/store/", json=event, params={"sentry_key": project["public_key"]})
    assert response.status_code == 200, response.text
    event_id = response.json()["id"]
    before = server.wait_for_event(project["read"], event_id)
    crashed = next(thread for thread in before["threads"] if thread["crashed"])
    assert not any(frame["function"] == "-[CRLCrashAsyncSafeThread crash]" for frame in crashed["frames"])
    missing = get_json(server, project["read"], f"/api/v1/projects/{project['slug']}/symbols/missing")
    crashprobe_ids = {"54039061-a983-3323-a49d-837a894d667f", "3cd3e3cc-281e-3af3-84eb-cde6d56f0559"}
    assert crashprobe_ids <= {entry["debug_id"] for entry in missing["needed"]}

    # Two uploads, each may run its own reprocess job: the event can pass through a partly symbolicated issue.
    for dwarf in sorted((corpus / "C005-crashprobe-dsyms").glob("*.dwarf")):
        upload(server, project, dwarf)
    wait_for_idle_reprocessing(server, project)
    after = get_json(server, project["read"], f"/api/v1/events/{event_id}")
    assert after["issue_id"] != before["issue_id"]
    crashed = next(thread for thread in after["threads"] if thread["crashed"])
    symbolicated = [(frame["function"], frame["filename"], frame["lineno"]) for frame in crashed["frames"] if frame["status"] == "symbolicated"]
    assert symbolicated[:2] == [("-[CRLCrashAsyncSafeThread crash]", "CRLCrashAsyncSafeThread.m", 41), ("-[CRLDetailViewController doCrash]", "CRLDetailViewController.m", 53)]
    assert ("main", "main.m", 16) in symbolicated
    assert len(after["images"]) == 254
    assert get_json(server, project["read"], f"/api/v1/issues/{after['issue_id']}")["count"] == 1
    with server.client(project["read"]) as client:
        redirect = client.get(f"/api/v1/issues/{before['issue_id']}")
    assert redirect.status_code == 308
    assert redirect.headers["location"] == f"/api/v1/issues/{after['issue_id']}"
    receiver.wait_for(1)
    # The receiver gets the request before the notifier commits its delivery.
    wait_until("the alert to be marked delivered", lambda: "delivered" in [row["status"] for row in alert_rows(server, project["channel_id"])])
    assert [row["status"] for row in alert_rows(server, project["channel_id"])].count("delivered") == 1
    needed = {entry["debug_id"]: entry for entry in get_json(server, project["read"], f"/api/v1/projects/{project['slug']}/symbols/needed")["needed"]}
    assert all(needed[debug_id]["available"] for debug_id in crashprobe_ids)


def test_symbol_endpoints_check_access(server: Server) -> None:
    project = new_project(server, "late-access", "apple")
    base = f"/api/v1/projects/{project['slug']}/symbols"
    with server.client() as anonymous:
        assert anonymous.get(f"{base}/needed").status_code == 401
    with server.client(server.token("symbols:write")) as uploader:
        assert uploader.get(f"{base}/status").status_code == 403
    with server.client(project["read"]) as reader:
        assert reader.get("/api/v1/projects/no-such-project/symbols/missing").status_code == 404
        invalid = reader.get(f"{base}/needed", params={"include_system": "maybe"})
        assert invalid.status_code == 400
        assert "include_system" in invalid.json()["detail"]
        empty = reader.get(f"{base}/needed").json()
    assert empty == {
        "release": None,
        "complete": True,
        "needed": [],
        "upload_command": f'shindan upload-symbols --url {server.base_url} --token "$SHINDAN_TOKEN" --project late-access PATH',
        "sentry_cli_commands": [f'sentry-cli --url {server.base_url} --auth-token "$SHINDAN_TOKEN" debug-files upload --org shindan --project late-access PATH'],
    }


@pytest.fixture(scope="module", params=BACKENDS)
def grace_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server whose new-issue alerts wait 600 s for app symbols: far longer than any of these tests runs."""
    instance = start_server(request.param, tmp_path_factory.mktemp(f"grace-{request.param}"), {"SHINDAN_SYMBOLS_GRACE_SECONDS": "600"})
    try:
        yield instance
    finally:
        instance.stop()


def test_grace_gives_one_alert_with_real_name(grace_server: Server, receiver: Receiver) -> None:
    server = grace_server
    project = new_project(server, "grace-ios", "apple", receiver)
    event_id = send_envelope_file(server, project, DEMO_ENVELOPE)
    old_issue_id = server.wait_for_event(project["read"], event_id)["issue_id"]
    (pending,) = alert_rows(server, project["channel_id"])
    assert pending["status"] == "pending"
    assert pending["dedupe_key"].startswith(f"issue.created:{old_issue_id}:")

    upload(server, project, DSYM_ZIP)
    new_issue_id = wait_for_new_issue(server, project, event_id, old_issue_id)["issue_id"]
    receiver.wait_for(1)
    payload = json.loads(receiver.requests[0][1])
    assert payload["issue"]["id"] == new_issue_id
    assert payload["issue"]["title"].startswith("EXC_BREAKPOINT")
    assert "ensureCapacity" in payload["issue"]["culprit"]
    assert [row["dedupe_key"].split(":")[1] for row in alert_rows(server, project["channel_id"])] == [str(new_issue_id)]


def test_grace_alert_sent_when_symbols_never_come(grace_server: Server, receiver: Receiver) -> None:
    server = grace_server
    project = new_project(server, "grace-never", "apple", receiver)
    issue_id = server.wait_for_event(project["read"], send_event(server, project, sample_events.ios_native_event()))["issue_id"]
    assert [row["status"] for row in alert_rows(server, project["channel_id"])] == ["pending"]
    # Stand in for the passing of the grace period: make the delayed alert due now.
    with server.engine.begin() as connection:
        connection.execute(text("UPDATE outbox SET next_attempt_at = :now WHERE channel_id = :channel"), {"now": datetime.now().astimezone(), "channel": project["channel_id"]})
    receiver.wait_for(1)
    assert json.loads(receiver.requests[0][1])["issue"]["id"] == issue_id


def test_grace_skipped_when_symbols_present(grace_server: Server, receiver: Receiver) -> None:
    server = grace_server
    project = new_project(server, "grace-ready", "apple", receiver)
    upload(server, project, DSYM_ZIP)
    issue_id = server.wait_for_event(project["read"], send_event(server, project, sample_events.ios_native_event()))["issue_id"]
    receiver.wait_for(1)
    assert json.loads(receiver.requests[0][1])["issue"]["id"] == issue_id


def test_crash_with_folded_signature_joins_real_issue(server: Server) -> None:
    """A crash that still lacks symbols after a fold goes to the real issue, not the merged one."""
    project = new_project(server, "late-join", "apple")
    first = server.wait_for_event(project["read"], send_envelope_file(server, project, DEMO_ENVELOPE))
    upload(server, project, DSYM_ZIP)
    real = wait_for_new_issue(server, project, first["event_id"], first["issue_id"])
    wait_for_idle_reprocessing(server, project)

    # The same crash from another build whose dSYM was never uploaded groups like the unsymbolicated one did.
    event = json.loads(DEMO_ENVELOPE.read_bytes().split(b"\n")[2])
    event["event_id"] = uuid.uuid4().hex
    for image in event["debug_meta"]["images"]:
        if image["debug_id"].lower() == CLINIC_APP_DEBUG_ID:
            image["debug_id"] = str(uuid.uuid4())
    second = server.wait_for_event(project["read"], send_event(server, project, event))
    assert second["issue_id"] == real["issue_id"]
    assert issue_row(server, first["issue_id"])["count"] == 0
    assert get_json(server, project["read"], f"/api/v1/issues/{real['issue_id']}")["count"] == 2
    # The joining event's unsymbolicated names do not replace the real issue's title.
    assert get_json(server, project["read"], f"/api/v1/issues/{real['issue_id']}")["title"] == real["title"]
