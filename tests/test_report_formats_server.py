"""Every supported crash file sent to a running server comes out as a symbolicated, grouped event.

The project's own reports (fixtures/reports/) carry addresses whose answers
fixtures/build.py recorded, so their frames are checked exactly. The corpus
files are real reports from other projects, checked for the facts their
README gives.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from tests.server import Server

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
EXPECTED: dict[str, Any] = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))
CLINIC_APP = next(image for image in EXPECTED["native_images"] if image["binary"] == "ios/ClinicApp" and image["arch"] == "arm64")
LIBCLINIC = next(image for image in EXPECTED["native_images"] if image["name"] == "libclinic.so")
IOS_STACK = ["crash_site", "cpp_caller", "swift_caller", "objc_method_caller", "objc_send_caller", "c_main_caller"]


@pytest.fixture(scope="module")
def ios(server: Server) -> dict[str, Any]:
    project = server.create_project("formats-ios", "apple")
    token = server.token("symbols:write", "project:read")
    upload(server, token, project["slug"], FIXTURES / CLINIC_APP["debug_files"][0]["zip"])
    return {**project, "read": token}


@pytest.fixture(scope="module")
def android(server: Server) -> dict[str, Any]:
    project = server.create_project("formats-android", "android")
    token = server.token("symbols:write", "project:read")
    upload(server, token, project["slug"], FIXTURES / LIBCLINIC["debug_files"][0]["path"])
    return {**project, "read": token}


def upload(server: Server, token: str, slug: str, path: Path) -> None:
    with path.open("rb") as handle, server.client(token) as client:
        response = client.post(f"/api/v1/projects/{slug}/debug-files", files={"file": (path.name, handle)})
    assert response.status_code == 200, response.text


def post_file(server: Server, project: dict[str, Any], path: Path) -> httpx.Response:
    return httpx.post(
        f"{server.base_url}/api/v1/projects/{project['slug']}/reports",
        content=path.read_bytes(),
        headers={"X-Shindan-Key": project["public_key"]},
        timeout=60,
    )


def accept(server: Server, project: dict[str, Any], path: Path, expected_format: str) -> list[dict[str, Any]]:
    """Send ``path``, check the detected format, and return its processed events."""
    response = post_file(server, project, path)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["format"] == expected_format
    return [wait_for_project_event(server, project, report["event_id"]) for report in answer["reports"]]


def wait_for_project_event(server: Server, project: dict[str, Any], event_id: str, timeout: float = 60.0) -> dict[str, Any]:
    """Poll the project's copy of an event: the same file sent to two projects gives both the same id."""
    deadline = time.monotonic() + timeout
    with server.client(project["read"]) as client:
        while time.monotonic() < deadline:
            response = client.get(f"/api/v1/projects/{project['slug']}/events/{event_id}")
            if response.status_code == 200:
                return response.json()  # type: ignore[no-any-return]
            time.sleep(0.1)
    raise AssertionError(f"event {event_id} of {project['slug']} was not processed within {timeout}s; job errors: {server.job_errors()}")


def crashed_thread(event: dict[str, Any]) -> dict[str, Any]:
    crashed = [thread for thread in event["threads"] if thread["crashed"]]
    assert len(crashed) == 1, [thread["id"] for thread in event["threads"] if thread["crashed"]]
    return crashed[0]


def symbolicated(frames: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
    return [(frame["raw_function"], frame["abs_path"] or frame["filename"], frame["lineno"]) for frame in frames if frame["status"] == "symbolicated"]


def ios_expected_frames() -> list[tuple[str, str, int]]:
    by_label = {entry["label"]: entry for entry in CLINIC_APP["addresses"]}
    return [(frame["function"], frame["file"], frame["line"]) for label in IOS_STACK for frame in by_label[label]["frames"]]


def libclinic_expected_frames() -> list[tuple[str, str, int]]:
    return [(frame["function"], frame["file"], frame["line"]) for entry in LIBCLINIC["addresses"] for frame in entry["frames"]]


APPLE_FILES = [
    ("clinicapp-309.ips", "apple-ips"),
    ("clinicapp-109.ips", "apple-ips"),
    ("clinicapp.crash", "apple-crash"),
    ("clinicapp-kscrash.json", "kscrash"),
]


@pytest.mark.parametrize(("name", "format_name"), APPLE_FILES, ids=[name for name, _ in APPLE_FILES])
def test_apple_fixture_report_symbolicates(server: Server, ios: dict[str, Any], name: str, format_name: str) -> None:
    [event] = accept(server, ios, FIXTURES / "reports" / "apple" / name, format_name)
    assert symbolicated(crashed_thread(event)["frames"]) == ios_expected_frames()
    assert event["issue_id"]


def test_apple_fixture_reports_share_one_issue(server: Server, ios: dict[str, Any]) -> None:
    """The same crash read from four formats is one issue: grouping reads only the CrashReport."""
    issues = {accept(server, ios, FIXTURES / "reports" / "apple" / name, format_name)[0]["issue_id"] for name, format_name in APPLE_FILES}
    assert len(issues) == 1


def test_metrickit_crash_joins_the_ips_issue(server: Server, ios: dict[str, Any]) -> None:
    """MetricKit names binaries without paths; its app frames must still count as in-app for grouping."""
    [ips] = accept(server, ios, FIXTURES / "reports" / "apple" / "clinicapp-309.ips", "apple-ips")
    events = accept(server, ios, FIXTURES / "reports" / "apple" / "clinicapp-metrickit.json", "metrickit")
    crash = next(event for event in events if any(thread["crashed"] for thread in event["threads"]))
    app_frames = [frame for frame in crashed_thread(crash)["frames"] if frame["in_app"]]
    assert [(frame["raw_function"], frame["abs_path"], frame["lineno"]) for frame in app_frames] == ios_expected_frames()
    assert crash["issue_id"] == ips["issue_id"]


def test_metrickit_crash_waits_for_late_dsym(server: Server) -> None:
    project = server.create_project("formats-ios-late", "apple")
    token = server.token("symbols:write", "project:read")
    project = {**project, "read": token}
    events = accept(server, project, FIXTURES / "reports" / "apple" / "clinicapp-metrickit.json", "metrickit")
    crash = next(event for event in events if any(thread["crashed"] for thread in event["threads"]))
    assert crash["symbolication"] != "complete"
    upload(server, token, project["slug"], FIXTURES / CLINIC_APP["debug_files"][0]["zip"])
    deadline = time.monotonic() + 60
    with server.client(token) as client:
        while time.monotonic() < deadline:
            response = client.get(f"/api/v1/events/{crash['event_id']}", params={"project": project["slug"]})
            assert response.status_code == 200, response.text
            after = response.json()
            if after["symbolication"] == "complete" or symbolicated(crashed_thread(after)["frames"]):
                break
            time.sleep(0.2)
    assert symbolicated(crashed_thread(after)["frames"]) == ios_expected_frames()


def test_metrickit_fixture_gives_crash_and_hang(server: Server, ios: dict[str, Any]) -> None:
    events = accept(server, ios, FIXTURES / "reports" / "apple" / "clinicapp-metrickit.json", "metrickit")
    assert len(events) >= 2
    with server.client(ios["read"]) as client:
        types = {client.get(f"/api/v1/issues/{event['issue_id']}").json()["type"] for event in events}
    assert {"crash", "hang"} <= types
    crash = next(event for event in events if any(thread["crashed"] for thread in event["threads"]))
    assert symbolicated(crashed_thread(crash)["frames"]) == ios_expected_frames()


@pytest.mark.parametrize(("name", "format_name"), [("clinic-native.tombstone.pb", "tombstone"), ("clinic-native.tombstone.txt", "tombstone-text")])
def test_android_tombstone_fixture_symbolicates(server: Server, android: dict[str, Any], name: str, format_name: str) -> None:
    [event] = accept(server, android, FIXTURES / "reports" / "android" / name, format_name)
    frames = symbolicated(crashed_thread(event)["frames"])
    assert frames[: len(libclinic_expected_frames())] == libclinic_expected_frames()


def test_anr_fixture_is_an_anr_issue(server: Server, android: dict[str, Any]) -> None:
    [event] = accept(server, android, FIXTURES / "reports" / "android" / "clinic-anr.trace.txt", "anr")
    main = crashed_thread(event)
    assert main["name"] == "main"
    with server.client(android["read"]) as client:
        assert client.get(f"/api/v1/issues/{event['issue_id']}").json()["type"] == "anr"


# Corpus files: (file, format, a check on the processed event)
CORPUS_ACCEPTED = [
    ("C015-pycrashreport-ios14-symbolicated.ips", "apple-ips", lambda e: e["exceptions"][0]["type"] == "EXC_CRASH"),
    ("C016-pycrashreport-ios14-abort-unsymbolicated.ips", "apple-ips", lambda e: crashed_thread(e)["id"] == 7),
    ("C017-pycrashreport-monterey-unsymbolicated.ips", "apple-ips", lambda e: e["exceptions"][0]["type"] == "EXC_BAD_ACCESS"),
    ("C019-kscrash-nsexception.kscrash.json", "kscrash", lambda e: e["exceptions"][0]["type"] == "NSInvalidArgumentException"),
    ("C020-kscrash-badpointer.kscrash.json", "kscrash", lambda e: e["exceptions"][0]["type"] == "EXC_BAD_ACCESS"),
    ("C020-kscrash-badpointer.apple.crash", "apple-crash", lambda e: e["exceptions"][0]["type"] == "EXC_BAD_ACCESS"),
    ("C021-kscrash-stackoverflow.kscrash.json", "kscrash", lambda e: crashed_thread(e)["frames"]),
    ("C022-kscrash-deadlock.apple.crash", "apple-crash", lambda e: e["threads"]),
    ("C027-sentrycocoa-raw-crash.sentrycrash.json", "sentrycrash", lambda e: any(image["debug_id"] == "2c656702-aa16-3e5f-94d9-d4430da53398" for image in e["images"])),
    ("C029-meter-mxdiagnosticpayload-real.json", "metrickit", lambda e: e["device"]["model"] == "iPhone10,2"),
    ("C029-meter-mxdiagnosticpayload-uncaught-exception.json", "metrickit", lambda e: e["threads"]),
    ("C032-sentryjava-tombstone.pb.gz", "tombstone", lambda e: len(e["threads"]) == 62 and crashed_thread(e)["id"] == 21891),
    ("C033-sentryjava-anr-thread-dump.txt", "anr", lambda e: crashed_thread(e)["frames"][0]["module"] == "io.sentry.samples.android.MainActivity$2"),
]


@pytest.mark.parametrize(("name", "format_name", "check"), CORPUS_ACCEPTED, ids=[name.split("-")[0] + "-" + name.rsplit(".", 1)[-1] for name, _, _ in CORPUS_ACCEPTED])
def test_corpus_report_accepted(server: Server, ios: dict[str, Any], corpus: Path, name: str, format_name: str, check: Any) -> None:
    events = accept(server, ios, corpus / name, format_name)
    assert events
    assert check(events[0]), f"{name}: the processed event does not show what the corpus README says"


def quarantine_reasons(server: Server) -> list[str]:
    with server.engine.connect() as connection:
        return [row[0] for row in connection.execute(text("SELECT reason FROM quarantine"))]


def test_kernel_panic_rejected_naming_bug_type(server: Server, ios: dict[str, Any], corpus: Path) -> None:
    response = post_file(server, ios, corpus / "C018-pycrashreport-ios16-kernel-forcereset.ips")
    assert response.status_code == 400
    assert "151" in response.json()["detail"]
    assert response.json()["detail"] in quarantine_reasons(server)


def test_faulty_sentrycrash_report_rejected(server: Server, ios: dict[str, Any], corpus: Path) -> None:
    response = post_file(server, ios, corpus / "C030-sentrycocoa-faulty-report.sentrycrash.json")
    assert response.status_code == 400
    assert response.json()["detail"] in quarantine_reasons(server)


def envelope_with_crash_report(event: dict[str, Any] | None, event_id: str, report: bytes) -> bytes:
    header = json.dumps({"event_id": event_id}).encode()
    parts = [header]
    if event is not None:
        body = json.dumps(event).encode()
        parts += [json.dumps({"type": "event", "length": len(body)}).encode(), body]
    attachment = {"type": "attachment", "length": len(report), "filename": "crash.crash", "attachment_type": "event.applecrashreport"}
    parts += [json.dumps(attachment).encode(), report]
    return b"\n".join(parts) + b"\n"


def send_envelope(server: Server, project: dict[str, Any], body: bytes) -> None:
    response = httpx.post(
        f"{server.base_url}/api/{project['id']}/envelope/",
        content=body,
        headers={"X-Sentry-Auth": f"Sentry sentry_version=7, sentry_key={project['public_key']}", "Content-Type": "application/x-sentry-envelope"},
    )
    assert response.status_code == 200, response.text


def test_crash_report_attachment_joins_its_event(server: Server, ios: dict[str, Any]) -> None:
    event_id = "5f0c3a0e9d2b4c6f8a1e2d3c4b5a6978"
    event = {
        "event_id": event_id,
        "platform": "cocoa",
        "level": "fatal",
        "release": "jp.clinic.app@2.4.0+50",
        "environment": "testflight",
        "tags": {"clinic": "shinjuku"},
        "sdk": {"name": "sentry.cocoa", "version": "8.40.1"},
    }
    report = (FIXTURES / "reports" / "apple" / "clinicapp.crash").read_bytes()
    send_envelope(server, ios, envelope_with_crash_report(event, event_id, report))
    stored = server.wait_for_event(ios["read"], event_id)
    assert symbolicated(crashed_thread(stored)["frames"]) == ios_expected_frames()
    assert stored["release"] == "jp.clinic.app@2.4.0+50"
    assert stored["tags"]["clinic"] == "shinjuku"
    assert stored["device"]["model"] == "iPhone15,2"


def test_crash_report_attachment_alone_becomes_event(server: Server, ios: dict[str, Any]) -> None:
    event_id = "6a1d4b1f0e3c4d7a9b2f3e4d5c6b7a80"
    report = (FIXTURES / "reports" / "apple" / "clinicapp.crash").read_bytes()
    send_envelope(server, ios, envelope_with_crash_report(None, event_id, report))
    stored = server.wait_for_event(ios["read"], event_id)
    assert symbolicated(crashed_thread(stored)["frames"]) == ios_expected_frames()
    assert stored["release"] == "jp.clinic.app@2.3.0+45"


def test_anr_deobfuscated_with_named_mapping(server: Server, android: dict[str, Any]) -> None:
    java = EXPECTED["java"]
    upload(server, android["read"], android["slug"], FIXTURES / java["mapping"])
    path = FIXTURES / "reports" / "android" / "clinic-anr.trace.txt"
    response = httpx.post(
        f"{server.base_url}/api/v1/projects/{android['slug']}/reports",
        content=path.read_bytes(),
        params={"proguard_uuid": java["mapping_uuid"].upper()},
        headers={"X-Shindan-Key": android["public_key"]},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    event = server.wait_for_event(android["read"], response.json()["reports"][0]["event_id"])
    main = crashed_thread(event)
    app_frames = [
        {"class": frame["module"], "method": frame["function"], "file": frame["filename"], "line": frame["lineno"]}
        for frame in main["frames"]
        if (frame["module"] or "").startswith("jp.clinic.app.")
    ]
    assert app_frames == java["exceptions"][1]["frames"]
    assert event["source_format"] == "anr"
    assert main["waiting_on"]["class_name"] == "jp.clinic.app.AppointmentBook"
    assert "waiting for jp.clinic.app.AppointmentBook held by thread 14" in event["exceptions"][0]["value"]
    assert "jp.clinic.app.AppointmentBook" in event["title"]


def test_invalid_proguard_uuid_is_rejected(server: Server, android: dict[str, Any]) -> None:
    response = httpx.post(
        f"{server.base_url}/api/v1/projects/{android['slug']}/reports",
        content=(FIXTURES / "reports" / "android" / "clinic-anr.trace.txt").read_bytes(),
        params={"proguard_uuid": "not-a-uuid"},
        headers={"X-Shindan-Key": android["public_key"]},
    )
    assert response.status_code == 400
    assert "proguard_uuid" in response.json()["detail"]


def test_anr_locks_shown_in_api_and_page(server: Server, android: dict[str, Any], corpus: Path) -> None:
    from tests.web.helpers import create_user, http_login

    [event] = accept(server, android, corpus / "C033-sentryjava-anr-thread-dump.txt", "anr")
    threads = {thread["id"]: thread for thread in event["threads"]}
    main = crashed_thread(event)
    assert main["id"] == 1
    assert main["state"] == "Blocked"
    assert main["waiting_on"] == {"address": "0x0d3a2f0a", "class_name": "java.lang.Object", "owner_thread_id": 5}
    assert threads[5]["state"] == "Sleeping"
    assert "0x0d3a2f0a" in [lock["address"] for lock in threads[5]["held_locks"]]

    create_user(server, "anr-reader@example.com", "viewer")
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        http_login(client, "anr-reader@example.com")
        page = client.get(f"/issues/{event['issue_id']}", params={"event": event["event_id"]}).text
    assert "Waiting for lock 0x0d3a2f0a (java.lang.Object), held by thread 5" in page
    assert "Holds lock 0x0d3a2f0a (java.lang.Object)" in page


def test_fault_address_rendered_in_hex(server: Server, ios: dict[str, Any], corpus: Path) -> None:
    [event] = accept(server, ios, corpus / "C020-kscrash-badpointer.kscrash.json", "kscrash")
    assert event["exceptions"][0]["mechanism"]["fault_address"] == "0xffffffff"
