"""Crashes sent to a running server come out symbolicated, grouped and readable through the API."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import sample_events
from tests.sample_events import FIXTURES, address, native_image
from tests.server import Server

IOS_EXPECTED_CHAIN = ["crash_site", "cpp_caller", "swift_caller", "objc_method_caller", "objc_send_caller", "c_main_caller"]


@pytest.fixture(scope="module")
def apple(server: Server) -> dict[str, Any]:
    project = server.create_project("clinic-ios", "apple")
    return {**project, "read": server.token("project:read"), "upload": server.token("symbols:write", "project:write")}


@pytest.fixture(scope="module")
def android(server: Server) -> dict[str, Any]:
    project = server.create_project("clinic-android", "android")
    return {**project, "read": server.token("project:read")}


def send(server: Server, project: dict[str, Any], event: dict[str, Any]) -> str:
    response = httpx.post(
        f"{server.base_url}/api/{project['id']}/envelope/",
        content=sample_events.gzip_envelope(event),
        headers={"Content-Encoding": "gzip", "Content-Type": "application/x-sentry-envelope", "X-Sentry-Auth": f"Sentry sentry_version=7, sentry_key={project['public_key']}, sentry_client=sentry.cocoa/8.40.1"},
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"id": event["event_id"]}
    return str(event["event_id"])


def upload(server: Server, token: str, slug: str, path: Path, **fields: str) -> httpx.Response:
    with path.open("rb") as handle, server.client(token) as client:
        return client.post(f"/api/v1/projects/{slug}/debug-files", files={"file": (path.name, handle)}, data=fields)


def symbolized(frame: dict[str, Any]) -> tuple[str | None, str | None, int | None]:
    return frame["raw_function"], frame["abs_path"] or frame["filename"], frame["lineno"]


def test_dsym_upload_reports_contents(server: Server, apple: dict[str, Any]) -> None:
    response = upload(server, apple["upload"], apple["slug"], FIXTURES / "ios" / "ClinicApp.app.dSYM.zip")
    assert response.status_code == 200, response.text
    files = response.json()["files"]
    assert [(item["kind"], item["debug_id"], item["arch"]) for item in files] == [("macho", native_image("ClinicApp")["debug_id"], "arm64")]
    assert "debug" in files[0]["features"]
    assert files[0]["created"] is True
    again = upload(server, apple["upload"], apple["slug"], FIXTURES / "ios" / "ClinicApp.app.dSYM.zip")
    assert again.json()["files"][0]["created"] is False


def test_upload_without_debug_information_is_rejected(server: Server, apple: dict[str, Any], tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("release notes, not a debug file\n")
    response = upload(server, apple["upload"], apple["slug"], notes)
    assert response.status_code == 400
    assert "debug" in response.json()["detail"]


def test_upload_needs_symbols_scope(server: Server, apple: dict[str, Any]) -> None:
    response = upload(server, apple["read"], apple["slug"], FIXTURES / "ios" / "ClinicApp.app.dSYM.zip")
    assert response.status_code == 403


def test_ios_crash_symbolicates_with_inline_frames(server: Server, apple: dict[str, Any]) -> None:
    upload(server, apple["upload"], apple["slug"], FIXTURES / "ios" / "ClinicApp.app.dSYM.zip")
    event_id = send(server, apple, sample_events.ios_native_event())
    event = server.wait_for_event(apple["read"], event_id)
    crashed = event["threads"][0]
    assert crashed["crashed"] is True
    image = native_image("ClinicApp")
    expected_frames: list[tuple[str, str, int]] = []
    for label in IOS_EXPECTED_CHAIN:
        # For a return address, "frames" is the symbolizer result at the call instruction, which caller adjustment must find.
        expected_frames += [(answer["function"], answer["file"], answer["line"]) for answer in address(image, label)["frames"]]
    app_frames = [frame for frame in crashed["frames"] if frame["package"] and frame["package"].endswith("/ClinicApp")]
    assert [symbolized(frame) for frame in app_frames] == expected_frames
    assert all(frame["status"] == "symbolicated" for frame in app_frames)
    assert all(frame["in_app"] for frame in app_frames)
    # The trap sits two inlined frames deep inside reserveSlot.
    assert [frame["inlined"] for frame in app_frames[:3]] == [True, True, False]


def test_ios_names_are_demangled(server: Server, apple: dict[str, Any]) -> None:
    upload(server, apple["upload"], apple["slug"], FIXTURES / "ios" / "ClinicApp.app.dSYM.zip")
    event = server.wait_for_event(apple["read"], send(server, apple, sample_events.ios_native_event()))
    functions = [frame["function"] for frame in event["threads"][0]["frames"]]
    # Names are shown without parameter types, as triage views usually do.
    assert "ClinicApp::Scheduler::reserveSlot" in functions
    assert "BookingScreen.submit(slot:)" in functions
    assert "-[BookingController confirmSlot:]" in functions


def test_frame_and_image_statuses_explain_gaps(server: Server, apple: dict[str, Any]) -> None:
    event = server.wait_for_event(apple["read"], send(server, apple, sample_events.ios_native_event()))
    system_frames = [frame for frame in event["threads"][0]["frames"] if frame["package"] == sample_events.SYSTEM_KERNEL]
    assert system_frames and all(frame["status"] == "missing_symbols" for frame in system_frames)
    assert all(frame["in_app"] is False for frame in system_frames)
    statuses = {image["code_file"]: image["status"] for image in event["images"]}
    assert statuses[sample_events.SYSTEM_KERNEL] == "missing"


def test_address_outside_images_is_unknown_image(server: Server, apple: dict[str, Any]) -> None:
    crash = sample_events.ios_native_event()
    stray = {"instruction_addr": "0x5000", "package": None}
    crash["threads"]["values"][1]["stacktrace"]["frames"].insert(0, stray)
    event = server.wait_for_event(apple["read"], send(server, apple, crash))
    other = next(thread for thread in event["threads"] if not thread["crashed"])
    assert other["frames"][-1]["instruction_addr"] == "0x5000"
    assert other["frames"][-1]["status"] == "unknown_image"


def test_same_crash_in_two_releases_is_one_issue(server: Server, apple: dict[str, Any]) -> None:
    upload(server, apple["upload"], apple["slug"], FIXTURES / "ios" / "ClinicApp.app.dSYM.zip")
    first = server.wait_for_event(apple["read"], send(server, apple, sample_events.ios_native_event(0x102000000, "jp.clinic.app@2.3.0+45", "user-a")))
    second = server.wait_for_event(apple["read"], send(server, apple, sample_events.ios_native_event(0x104F00000, "jp.clinic.app@2.4.0+51", "user-b")))
    assert first["issue_id"] == second["issue_id"]
    with server.client(apple["read"]) as client:
        issue = client.get(f"/api/v1/issues/{first['issue_id']}").json()
    assert issue["count"] >= 2
    assert issue["user_count"] >= 2
    assert issue["last_release"] == "jp.clinic.app@2.4.0+51"
    assert issue["culprit"] == "ClinicApp::Scheduler::ensureCapacity (Scheduler.cpp)"
    assert issue["title"].startswith("EXC_BREAKPOINT")
    assert any(part["contributes"] for part in issue["grouping"])


def test_issue_list_fields_and_status_change(server: Server, apple: dict[str, Any]) -> None:
    event = server.wait_for_event(apple["read"], send(server, apple, sample_events.ios_native_event()))
    writer = server.token("project:write")
    with server.client(apple["read"]) as client:
        listed = client.get(f"/api/v1/projects/{apple['slug']}/issues").json()
    issue = next(item for item in listed if item["id"] == event["issue_id"])
    for name in ("id", "title", "culprit", "type", "status", "count", "user_count", "first_seen", "last_seen", "first_release", "last_release"):
        assert name in issue
    with server.client(apple["read"]) as client:
        assert client.patch(f"/api/v1/issues/{issue['id']}", json={"status": "resolved"}).status_code == 403
    with server.client(writer) as client:
        resolved = client.patch(f"/api/v1/issues/{issue['id']}", json={"status": "resolved"})
        assert resolved.status_code == 200
        assert resolved.json()["status"] == "resolved"
        assert client.get(f"/api/v1/projects/{apple['slug']}/issues", params={"status": "resolved"}).json()[0]["id"] == issue["id"]
        events = client.get(f"/api/v1/issues/{issue['id']}/events").json()
        assert event["event_id"] in [item["event_id"] for item in events]
        invalid = client.patch(f"/api/v1/issues/{issue['id']}", json={"status": "closed"})
        assert invalid.status_code == 400
        assert "invalid status 'closed'" in invalid.json()["detail"]
        assert issue["id"] in [item["id"] for item in client.get(f"/api/v1/projects/{apple['slug']}/issues", params={"status": "all"}).json()]
    # A new event reopens the resolved issue.
    server.wait_for_event(apple["read"], send(server, apple, sample_events.ios_native_event()))
    with server.client(apple["read"]) as client:
        assert client.get(f"/api/v1/issues/{issue['id']}").json()["status"] == "unresolved"


def test_java_crash_deobfuscates_through_mapping(server: Server, android: dict[str, Any]) -> None:
    uploader = server.token("symbols:write")
    response = upload(server, uploader, android["slug"], FIXTURES / "java" / "mapping.txt")
    assert response.status_code == 200, response.text
    java = sample_events.expected()["java"]
    assert java["mapping_uuid"] in [item["debug_id"] for item in response.json()["files"]]
    event = server.wait_for_event(android["read"], send(server, android, sample_events.android_java_event()))
    top, cause = event["exceptions"]
    assert f"{top['module']}.{top['type']}" == "jp.clinic.app.BookingFailedException"
    clean = java["exceptions"][1]
    assert [(frame["module"], frame["function"], frame["lineno"]) for frame in cause["frames"]] == [(frame["class"], frame["method"], frame["line"]) for frame in clean["frames"]]
    assert [frame["filename"] for frame in cause["frames"]] == [frame["file"] for frame in clean["frames"]]
    assert all(frame["status"] == "symbolicated" for frame in cause["frames"])
    assert all(frame["in_app"] for frame in cause["frames"])


def test_mapping_upload_with_app_uuid(server: Server, android: dict[str, Any]) -> None:
    app_uuid = "0f6a7c52-3b1e-4c9d-8a2e-5d4b3c2a1f00"
    response = upload(server, server.token("symbols:write"), android["slug"], FIXTURES / "java" / "mapping.txt", uuid=app_uuid)
    assert response.status_code == 200, response.text
    debug_ids = [item["debug_id"] for item in response.json()["files"]]
    assert app_uuid in debug_ids
    assert sample_events.expected()["java"]["mapping_uuid"] in debug_ids


def test_many_dsyms_in_one_zip(server: Server, apple: dict[str, Any]) -> None:
    response = upload(server, apple["upload"], apple["slug"], FIXTURES / "ios" / "appstore-dSYMs.zip")
    assert response.status_code == 200, response.text
    found = {item["debug_id"] for item in response.json()["files"]}
    assert found == {native_image("ClinicApp")["debug_id"], native_image("ClinicKit")["debug_id"]}


def test_android_native_crash_resolves_by_build_id(server: Server, android: dict[str, Any]) -> None:
    uploader = server.token("symbols:write")
    assert upload(server, uploader, android["slug"], FIXTURES / "android" / "libclinic.so.debug").status_code == 200
    event = server.wait_for_event(android["read"], send(server, android, sample_events.android_native_event()))
    frames = event["exceptions"][0]["frames"] or event["threads"][0]["frames"]
    image = native_image("libclinic.so", platform="android")
    expected_frames = [(answer["function"], answer["file"], answer["line"]) for label in ("crash_site", "cpp_caller", "jni_caller") for answer in address(image, label)["frames"]]
    assert [symbolized(frame) for frame in frames] == expected_frames


SDK_SCRIPT = """
import sys
import sentry_sdk

sentry_sdk.init(dsn=sys.argv[1], release="jp.clinic.backend@1.0.0", default_integrations=False)
try:
    raise RuntimeError("appointment slot table is full")
except RuntimeError as error:
    print(sentry_sdk.capture_exception(error))
sentry_sdk.flush(timeout=10)
"""


def test_sentry_sdk_client_reaches_issue_list(server: Server, apple: dict[str, Any]) -> None:
    result = subprocess.run([sys.executable, "-c", SDK_SCRIPT, apple["dsn"]], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    event_id = result.stdout.strip()
    event = server.wait_for_event(apple["read"], event_id)
    assert event["exceptions"][0]["type"] == "RuntimeError"
    assert event["release"] == "jp.clinic.backend@1.0.0"
    with server.client(apple["read"]) as http:
        titles = [issue["title"] for issue in http.get(f"/api/v1/projects/{apple['slug']}/issues", params={"query": "slot table"}).json()]
    assert titles and titles[0].startswith("RuntimeError")
