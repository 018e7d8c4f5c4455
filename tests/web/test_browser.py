"""The web UI in Chromium: log in, find the crash, read it, triage it, in English and Japanese."""

from __future__ import annotations


import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from tests.server import Server
from tests.web.crash_event import RELEASE
from tests.web.helpers import PASSWORD, Crash, create_user, send_crash, upload_dsym
from tests.web.page_login import open_context

SLUG = "clinic-ios"
CRASHED_THREAD_ID = "5"


@pytest.fixture(scope="module")
def crash(server: Server) -> Crash:
    for email, role in (("admin@example.com", "admin"), ("ja-admin@example.com", "admin"), ("switcher@example.com", "member"), ("viewer@example.com", "viewer")):
        create_user(server, email, role)
    server.create_project(SLUG)
    upload_dsym(server, SLUG)
    return send_crash(server, SLUG, events=2)


def log_in(page: Page, server: Server, email: str, path: str = "/") -> None:
    """Open ``path``, get sent to the login form, log in and land on ``path``."""
    page.goto(server.base_url + path)
    expect(page).to_have_url(f"{server.base_url}/login?next={path.replace('/', '%2F')}")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("form.stacked button[type=submit]")
    expect(page).to_have_url(server.base_url + path)


def crashed_thread(page: Page) -> Locator:
    return page.locator("details.thread").first


def test_crash_read_and_resolved(server: Server, crash: Crash, english: BrowserContext) -> None:
    page = english.new_page()
    log_in(page, server, "admin@example.com")
    expect(page.locator("html")).to_have_attribute("lang", "en")

    project_row = page.locator(f'tr[data-project="{SLUG}"]')
    expect(project_row.locator("code.dsn")).to_have_text(server.projects[SLUG]["dsn"])
    project_row.get_by_role("link").click()

    expect(page).to_have_url(f"{server.base_url}/projects/{SLUG}/issues")
    for header in ("Title", "Culprit", "Type", "Events", "Users", "First seen", "Last seen", "First release", "Last release"):
        expect(page.locator("table.issues thead")).to_contain_text(header)
    issue_row = page.locator(f'tr[data-issue-id="{crash.issue_id}"]')
    expect(issue_row).to_contain_text("EXC_BREAKPOINT")
    expect(issue_row).to_contain_text("ensureCapacity")
    expect(issue_row.locator("td.num").first).to_have_text("2")
    expect(issue_row).to_contain_text(RELEASE.split("@")[1])
    issue_row.get_by_role("link").click()

    expect(page).to_have_url(f"{server.base_url}/issues/{crash.issue_id}")
    expect(page.locator("h1")).to_contain_text("EXC_BREAKPOINT")
    expect(page.locator("#issue-status")).to_have_text("Unresolved")

    thread = crashed_thread(page)
    expect(thread).to_have_attribute("data-thread-id", CRASHED_THREAD_ID)
    expect(thread).to_have_class("thread crashed")
    expect(thread.locator("summary")).to_contain_text("crashed")

    first_frame = thread.locator("tr.frame").first
    expect(first_frame).to_have_class("frame in-app inlined")
    expect(first_frame.locator("td.function")).to_contain_text("ensureCapacity")
    expect(first_frame.locator("td.function")).to_contain_text("In app")
    expect(first_frame.locator("td.function")).to_contain_text("inlined")
    expect(first_frame).to_contain_text("Scheduler.cpp:22")
    expect(first_frame.locator(".frame-status")).to_have_text("symbolicated")

    in_app_rows = thread.locator("tr.frame.in-app")
    system_rows = thread.locator("tr.frame:not(.in-app)")
    expect(in_app_rows).to_have_count(8)
    expect(system_rows).to_have_count(3)
    expect(system_rows.first.locator(".in-app-marker")).to_have_count(0)
    expect(system_rows.first.locator(".frame-status")).to_have_text("missing symbols")
    in_app_background = in_app_rows.first.locator("td").nth(1).evaluate("cell => getComputedStyle(cell).backgroundColor")
    system_background = system_rows.first.locator("td").nth(1).evaluate("cell => getComputedStyle(cell).backgroundColor")
    assert in_app_background != system_background

    status = first_frame.locator(".frame-status")
    assert "debug file" in (status.get_attribute("title") or "")
    other_thread = page.locator('details.thread[data-thread-id="1"]')
    other_thread.locator("summary").click()
    expect(other_thread.locator(".frame-status", has_text="unknown image")).to_be_visible()
    legend = page.locator("section.legend")
    for word in ("symbolicated", "missing symbols", "unknown image", "malformed symbols", "not applicable"):
        expect(legend).to_contain_text(word)

    expect(page.locator(".exception")).to_contain_text("SIGTRAP")
    expect(page.locator(".exception")).to_contain_text("mach")
    app_image = page.locator("table.images tr", has_text="4c4c445a-5555-3144-a108-208c6fe692a2").first
    expect(app_image).to_contain_text("debug file found")
    expect(page.locator("table.grouping-parts")).to_contain_text("exception type")
    expect(page.locator("table.grouping-parts")).to_contain_text("in-app frame")
    expect(page.locator("table.breadcrumbs")).to_contain_text("confirmButton tapped")
    expect(page.locator(".context-grid")).to_contain_text("iPhone 14 Pro (iPhone15,2)")
    expect(page.locator("table.event-picker").first).to_contain_text("iPhone 14 Pro (iPhone15,2)")

    json_link = page.get_by_role("link", name="Event JSON")
    newest_event = crash.event_ids[-1]
    expect(json_link).to_have_attribute("href", f"/api/v1/events/{newest_event}")
    api_response = page.request.get(server.base_url + f"/api/v1/events/{newest_event}")
    assert api_response.status == 200
    assert api_response.json()["issue_id"] == crash.issue_id

    page.get_by_role("button", name="Resolve").click()
    expect(page.locator("#issue-status")).to_have_text("Resolved")
    expect(page.locator(".message.ok")).to_have_text("The issue is now resolved.")
    page.goto(f"{server.base_url}/projects/{SLUG}/issues")
    expect(page.locator(f'tr[data-issue-id="{crash.issue_id}"]')).to_have_count(0)
    page.goto(f"{server.base_url}/projects/{SLUG}/issues?status=resolved")
    expect(page.locator(f'tr[data-issue-id="{crash.issue_id}"]')).to_have_count(1)

    page.goto(f"{server.base_url}/issues/{crash.issue_id}")
    page.get_by_role("button", name="Reopen").click()
    expect(page.locator("#issue-status")).to_have_text("Unresolved")


def test_event_picker_opens_older_event(server: Server, crash: Crash, english: BrowserContext) -> None:
    page = english.new_page()
    log_in(page, server, "admin@example.com", f"/issues/{crash.issue_id}")
    oldest = crash.event_ids[0]
    expect(page.locator("section.event h2")).to_contain_text(crash.event_ids[-1][:12])
    page.locator("table.event-picker").get_by_role("link", name=oldest[:12]).click()
    expect(page).to_have_url(f"{server.base_url}/issues/{crash.issue_id}?event={oldest}")
    expect(page.locator("section.event h2")).to_contain_text(oldest[:12])
    expect(page.get_by_role("link", name="Event JSON")).to_have_attribute("href", f"/api/v1/events/{oldest}")


def test_pages_in_japanese(server: Server, crash: Crash, japanese: BrowserContext) -> None:
    page = japanese.new_page()
    page.goto(server.base_url + "/")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.locator("h1")).to_have_text("Shindan にログイン")
    expect(page.locator("label[for=password]")).to_have_text("パスワード")
    page.fill("#email", "ja-admin@example.com")
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="ログイン").click()

    expect(page.locator("h1")).to_have_text("プロジェクト")
    page.goto(f"{server.base_url}/projects/{SLUG}/issues")
    expect(page.locator("nav.tabs .tab.current")).to_contain_text("未解決")
    expect(page.locator("nav.tabs")).to_contain_text("解決済み")
    expect(page.locator("nav.tabs")).to_contain_text("無視")
    headers = page.locator("table.issues thead")
    for header in ("タイトル", "発生箇所", "種類", "発生回数", "ユーザー数", "初回発生", "最終発生"):
        expect(headers).to_contain_text(header)
    expect(page.locator(f'tr[data-issue-id="{crash.issue_id}"]')).to_contain_text("クラッシュ")

    page.goto(f"{server.base_url}/issues/{crash.issue_id}")
    expect(page.locator("#issue-status")).to_have_text("未解決")
    expect(page.get_by_role("button", name="解決済みにする")).to_be_visible()
    expect(page.get_by_role("button", name="無視する")).to_be_visible()
    thread = crashed_thread(page)
    expect(thread.locator("summary")).to_contain_text("スレッド 5")
    expect(thread.locator("summary")).to_contain_text("クラッシュ")
    expect(thread.locator("tr.frame").first.locator(".frame-status")).to_have_text("シンボル化済み")
    expect(thread.locator("tr.frame").first.locator(".in-app-marker")).to_have_text("アプリ内")
    expect(thread.locator(".frame-status", has_text="シンボル未登録").first).to_be_visible()
    legend = page.locator("section.legend")
    for word in ("シンボル化済み", "シンボル未登録", "不明なイメージ", "シンボル不整合", "対象外"):
        expect(legend).to_contain_text(word)
    grouping = page.locator("table.grouping-parts")
    expect(grouping).to_contain_text("例外の型")
    expect(grouping).to_contain_text("アプリ内フレーム")
    expect(grouping).not_to_contain_text("kept:")
    expect(page.locator("table.images")).to_contain_text("デバッグファイルあり")
    expect(page.get_by_role("link", name="イベントの JSON")).to_be_visible()

    page.get_by_role("button", name="無視する").click()
    expect(page.locator("#issue-status")).to_have_text("無視")
    expect(page.locator(".message.ok")).to_have_text("イシューを無視に設定しました。")
    page.get_by_role("button", name="未解決に戻す").click()
    expect(page.locator("#issue-status")).to_have_text("未解決")


def test_language_choice_is_stored_for_user(server: Server, crash: Crash, browser: Browser) -> None:
    first = open_context(browser, "en-US")
    try:
        page = first.new_page()
        log_in(page, server, "switcher@example.com", f"/projects/{SLUG}/issues")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        page.get_by_role("button", name="日本語").click()
        expect(page).to_have_url(f"{server.base_url}/projects/{SLUG}/issues")
        expect(page.locator("html")).to_have_attribute("lang", "ja")
        expect(page.locator("h1")).to_contain_text("のイシュー")
    finally:
        first.close()

    second = open_context(browser, "en-US")
    try:
        page = second.new_page()
        log_in(page, server, "switcher@example.com", f"/projects/{SLUG}/issues")
        expect(page.locator("html")).to_have_attribute("lang", "ja")
        expect(page.locator("table.issues thead")).to_contain_text("発生回数")
        page.get_by_role("button", name="ブラウザーの設定に従う").click()
        expect(page.locator("html")).to_have_attribute("lang", "en")
        page.reload()
        expect(page.locator("html")).to_have_attribute("lang", "en")
    finally:
        second.close()


def test_viewer_sees_no_status_buttons(server: Server, crash: Crash, english: BrowserContext) -> None:
    page = english.new_page()
    log_in(page, server, "viewer@example.com", f"/issues/{crash.issue_id}")
    expect(page.locator("h1")).to_contain_text("EXC_BREAKPOINT")
    expect(page.locator("form.status-actions")).to_have_count(0)
    expect(page.locator(".status-line")).to_contain_text("Your role can view issues but not change their status.")
