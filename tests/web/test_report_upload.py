"""Uploading a crash report file through the web UI, in Chromium, in English and Japanese."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import BrowserContext, expect

from service.clock import utc_now
from tests.server import Server
from tests.web.crash_event import ios_crash_event, new_event_id
from tests.web.helpers import create_user, csrf_token, http_login, upload_dsym
from tests.web.page_login import log_in

SLUG = "upload-ios"


@pytest.fixture(scope="module")
def project(server: Server) -> dict[str, str]:
    for email, role in (("uploader@example.com", "member"), ("reader@example.com", "viewer")):
        create_user(server, email, role)
    created = server.create_project(SLUG)
    upload_dsym(server, SLUG)
    return created


def crash_file(tmp_path: Path) -> tuple[Path, str]:
    event_id = new_event_id()
    path = tmp_path / "crash.json"
    path.write_text(json.dumps(ios_crash_event(event_id, utc_now())))
    return path, event_id


def test_uploaded_file_opens_its_issue(server: Server, project: dict[str, str], english: BrowserContext, tmp_path: Path) -> None:
    path, event_id = crash_file(tmp_path)
    page = english.new_page()
    log_in(page, server, "uploader@example.com", "/")
    page.goto(f"{server.base_url}/projects/{SLUG}/issues")
    page.get_by_role("link", name="Upload a crash report").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Upload a crash report")
    page.set_input_files("input[name=file]", str(path))
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Crash report accepted")
    expect(page.locator("main")).to_contain_text("Read as sentry-event. It contains 1 report.")
    row = page.locator(f"tr[data-event='{event_id}']")
    expect(row).to_contain_text("iPhone")
    row.get_by_role("link").click()
    # The event page reloads until the worker has stored the event, then redirects to its issue.
    page.wait_for_url("**/issues/*?event=*", timeout=60_000)
    expect(page.locator("main")).to_contain_text(event_id)


def test_rejected_file_shows_reason_in_japanese(server: Server, project: dict[str, str], japanese: BrowserContext, tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("release notes, not a crash report\n")
    page = japanese.new_page()
    log_in(page, server, "uploader@example.com", "/")
    page.goto(f"{server.base_url}/projects/{SLUG}/reports/new")
    expect(page.get_by_role("heading", level=1)).to_have_text("クラッシュレポートをアップロード")
    page.set_input_files("input[name=file]", str(path))
    page.get_by_role("button", name="アップロード").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("このファイルは対応しているクラッシュレポートの形式ではありません。対応形式: ")
    expect(alert).not_to_contain_text("not a supported crash report format")
    expect(alert).not_to_contain_text("?format=")


def test_accepted_page_in_japanese(server: Server, project: dict[str, str], japanese: BrowserContext, tmp_path: Path) -> None:
    path, _event_id = crash_file(tmp_path)
    page = japanese.new_page()
    log_in(page, server, "uploader@example.com", "/")
    page.goto(f"{server.base_url}/projects/{SLUG}/reports/new")
    page.set_input_files("input[name=file]", str(path))
    page.get_by_role("button", name="アップロード").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("クラッシュレポートを受け付けました")
    expect(page.locator("main")).to_contain_text("1 件のレポートが含まれています。")


def test_viewer_cannot_upload(server: Server, project: dict[str, str], tmp_path: Path) -> None:
    path, _event_id = crash_file(tmp_path)
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        assert http_login(client, "reader@example.com").status_code == 303
        token = csrf_token(client.get(f"/projects/{SLUG}/reports/new").text)
        response = client.post(f"/projects/{SLUG}/reports", data={"csrf_token": token}, files={"file": (path.name, path.read_bytes())})
    assert response.status_code == 403


def test_upload_without_csrf_token_is_rejected(server: Server, project: dict[str, str], tmp_path: Path) -> None:
    path, _event_id = crash_file(tmp_path)
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        http_login(client, "uploader@example.com")
        response = client.post(f"/projects/{SLUG}/reports", files={"file": (path.name, path.read_bytes())})
    assert response.status_code == 403
