"""Breakdown charts on the issue page in Chromium, in English and Japanese."""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect

from tests.server import Server
from tests.web.breakdown_data import CRASHES, NEW_RELEASE, CrashSpec, send_crashes
from tests.web.helpers import create_user
from tests.web.page_login import log_in

SLUG = "clinic-charts"


@pytest.fixture(scope="module")
def issue_id(server: Server) -> int:
    create_user(server, "charts-en@example.com", "viewer")
    create_user(server, "charts-ja@example.com", "viewer")
    server.create_project(SLUG)
    issue, _event_ids = send_crashes(server, SLUG, CRASHES)
    return issue


def chart(page: Page, dimension: str) -> Locator:
    return page.locator(f'#breakdowns figure[data-dimension="{dimension}"]')


def bar_widths(figure: Locator) -> list[float]:
    return [float(width) for width in figure.locator("rect.bar-fill").evaluate_all("rects => rects.map(rect => rect.getAttribute('width'))")]


def test_issue_charts_in_english(server: Server, issue_id: int, english: BrowserContext) -> None:
    page = english.new_page()
    log_in(page, server, "charts-en@example.com", f"/issues/{issue_id}")
    expect(page.locator("#breakdowns h2")).to_have_text("Devices, OS versions and releases")

    devices = chart(page, "device")
    expect(devices.locator("figcaption")).to_have_text("Devices")
    rows = devices.locator("tbody tr")
    # Five values fit the issue page's limit, so nothing is merged into "other".
    expect(rows).to_have_count(5)
    expect(rows.nth(0).locator("th")).to_contain_text("iPhone 14 Pro")
    expect(rows.nth(0).locator("th")).to_contain_text("iPhone15,2")
    expect(rows.nth(0).locator(".bar-share")).to_have_text("40.0%")
    expect(rows.nth(0).locator("td.num")).to_have_text("4")
    expect(rows.nth(1).locator("th")).to_contain_text("iPhone 7 Plus")
    expect(rows.nth(1).locator("th")).to_contain_text("iPhone9,2, iPhone9,4")
    expect(rows.nth(4)).to_have_class("bar-unknown")
    expect(rows.nth(4).locator("th")).to_have_text("Unknown")
    assert bar_widths(devices) == [40.0, 30.0, 10.0, 10.0, 10.0]

    os_rows = chart(page, "os").locator("tbody tr")
    expect(os_rows.first.locator("th")).to_have_text("iOS 17.4")
    expect(os_rows).to_have_count(4)
    releases = chart(page, "release").locator("tbody tr")
    expect(releases.first.locator("th")).to_have_text("2.4.0+420")
    expect(releases.first.locator("th")).to_have_attribute("title", "jp.clinic.ClinicApp@2.4.0+420")
    expect(releases.first.locator(".bar-share")).to_have_text("70.0%")

    headers = devices.locator("thead")
    for header in ("Device", "Share of events", "Events"):
        expect(headers).to_contain_text(header)
    fill = devices.locator("rect.bar-fill").first.evaluate("rect => getComputedStyle(rect).fill")
    unknown_fill = rows.nth(4).locator("rect.bar-fill").evaluate("rect => getComputedStyle(rect).fill")
    assert fill != unknown_fill


def test_issue_charts_in_japanese(server: Server, issue_id: int, japanese: BrowserContext) -> None:
    page = japanese.new_page()
    log_in(page, server, "charts-ja@example.com", f"/issues/{issue_id}")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.locator("#breakdowns h2")).to_have_text("デバイス・OS バージョン・リリース")
    devices = chart(page, "device")
    expect(devices.locator("figcaption")).to_have_text("デバイス")
    for header in ("デバイス", "発生回数の割合", "発生回数"):
        expect(devices.locator("thead")).to_contain_text(header)
    expect(devices.locator("tr.bar-unknown th")).to_have_text("不明")
    expect(chart(page, "os").locator("figcaption")).to_have_text("OS バージョン")
    expect(chart(page, "release").locator("figcaption")).to_have_text("リリース")
    expect(page.get_by_role("link", name="内訳の JSON")).to_have_attribute("href", f"/api/v1/issues/{issue_id}/breakdowns")


def test_issue_chart_limit_shows_other(server: Server, issue_id: int, english: BrowserContext) -> None:
    extra = [CrashSpec(model, "17.4", NEW_RELEASE, f"user-{model}") for model in ("iPhone12,1", "iPhone13,2", "iPhone14,5")]
    send_crashes(server, SLUG, extra)
    page = english.new_page()
    log_in(page, server, "charts-en@example.com", f"/issues/{issue_id}")
    rows = chart(page, "device").locator("tbody tr")
    expect(rows).to_have_count(6)
    expect(rows.nth(2).locator("th")).to_contain_text("iPhone 11")
    other = chart(page, "device").locator("tr.bar-other")
    expect(other.locator("th")).to_have_text("Other (3 values)")
    expect(other.locator("td.num")).to_have_text("3")
