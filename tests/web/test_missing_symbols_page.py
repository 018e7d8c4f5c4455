"""The debug files page in Chromium: what a crash lacks, the command that fixes it, and the page after the upload."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import BrowserContext, expect

from tests.server import Server
from tests.web.crash_event import CLINIC_APP, RELEASE, SYSTEM_IMAGES
from tests.web.helpers import Crash, create_user, send_crash, upload_dsym
from tests.web.page_login import log_in

SLUG = "symbols-ios"


@pytest.fixture(scope="module")
def crash(server: Server) -> Crash:
    create_user(server, "symbols-admin@example.com", "admin")
    server.create_project(SLUG)
    return send_crash(server, SLUG, events=2)


def wait_for_reprocessing(server: Server, token: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    with server.client(token) as client:
        while time.monotonic() < deadline:
            status = client.get(f"/api/v1/projects/{SLUG}/symbols/status").json()
            if status["reprocess_jobs_pending"] == 0 and status["events_ready"] == 0 and status["events_waiting"] == 0:
                return
            time.sleep(0.2)
    raise AssertionError(f"reprocessing did not finish within {timeout}s; job errors: {server.job_errors()}")


def test_page_in_japanese(server: Server, crash: Crash, japanese: BrowserContext) -> None:
    page = japanese.new_page()
    log_in(page, server, "symbols-admin@example.com", f"/projects/{SLUG}/symbols")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.locator("h1")).to_contain_text("のデバッグファイルとマッピング")
    expect(page.locator("nav.project-nav a[aria-current=page]")).to_have_text("デバッグファイル")
    row = page.locator(f'tr[data-debug-id="{CLINIC_APP["debug_id"]}"]')
    expect(row.locator(".badge")).to_have_text("未登録")
    expect(page.locator("table.symbols thead")).to_contain_text("デバッグ ID またはマッピング UUID")


def test_missing_dsym_listed_then_uploaded(server: Server, crash: Crash, english: BrowserContext) -> None:
    page = english.new_page()
    log_in(page, server, "symbols-admin@example.com", f"/projects/{SLUG}/issues")
    page.locator("nav.project-nav").get_by_role("link", name="Debug files").click()
    expect(page).to_have_url(f"{server.base_url}/projects/{SLUG}/symbols")
    expect(page.locator("h1")).to_have_text("Debug files and mappings for symbols-ios")

    row = page.locator(f'tr[data-debug-id="{CLINIC_APP["debug_id"]}"]')
    expect(row.locator(".badge")).to_have_text("missing")
    expect(row).to_contain_text("Mach-O")
    expect(row).to_contain_text("ClinicApp")
    expect(row.locator("td.num").first).to_have_text("2")
    expect(row.locator("td.num").nth(1)).to_have_text("2")
    expect(page.locator("table.symbols tbody tr")).to_have_count(1)
    expect(page.locator("#symbols-missing")).to_have_text("1")
    expect(page.locator("#symbols-events-waiting")).to_have_text("2")
    shindan_command = f'shindan upload-symbols --url {server.base_url} --token "$SHINDAN_TOKEN" --project {SLUG} PATH'
    expect(page.locator('pre[data-command="shindan"]')).to_have_text(shindan_command)
    expect(page.locator('pre[data-command="sentry-cli"]')).to_contain_text(f"debug-files upload --org shindan --project {SLUG} PATH")

    # System libraries appear only on request, marked as such.
    page.get_by_label("Include system libraries").check()
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(f"{server.base_url}/projects/{SLUG}/symbols?release=&system=1")
    kernel_row = page.locator(f'tr[data-debug-id="{SYSTEM_IMAGES["libsystem_kernel.dylib"][1]}"]')
    expect(kernel_row).to_contain_text("(system)")
    expect(kernel_row.locator(".badge")).to_have_text("missing")

    # The release filter lists the crash's release and keeps its row.
    page.locator("select[name=release]").select_option(RELEASE)
    page.get_by_label("Include system libraries").uncheck()
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("select[name=release]")).to_have_value(RELEASE)
    expect(page.locator("table.symbols tbody tr")).to_have_count(1)
    page.goto(f"{server.base_url}/projects/{SLUG}/symbols?release=jp.clinic.ClinicApp%402.2.0%2B400")
    expect(page.locator("p.empty")).to_have_text("No crash has needed a debug file or mapping yet.")

    upload_dsym(server, SLUG)
    wait_for_reprocessing(server, crash.read_token)
    page.goto(f"{server.base_url}/projects/{SLUG}/symbols")
    expect(row.locator(".badge")).to_have_text("uploaded")
    expect(row.locator("td.num").nth(1)).to_have_text("0")
    expect(page.locator("#symbols-missing")).to_have_text("0")
    expect(page.locator("p.symbol-verdict")).to_have_text("Every debug file and mapping these crashes needed has been uploaded.")

    # The events moved to the issue of their symbolicated stack, and the old issue's page leads there.
    with server.client(crash.read_token) as client:
        new_issue_id = client.get(f"/api/v1/events/{crash.event_ids[0]}").json()["issue_id"]
    assert new_issue_id != crash.issue_id
    page.goto(f"{server.base_url}/issues/{crash.issue_id}")
    expect(page).to_have_url(f"{server.base_url}/issues/{new_issue_id}?merged_from={crash.issue_id}")
    expect(page.locator(".merged-notice")).to_have_text(
        f"This issue now contains the events of issue #{crash.issue_id}, which were regrouped when their symbols arrived."
    )
    expect(page.locator("#issue-count")).to_have_text("2")
    expect(page.locator("details.thread").first.locator("tr.frame").first).to_contain_text("ensureCapacity")
