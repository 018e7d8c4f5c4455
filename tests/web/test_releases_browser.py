"""The releases page and a release's page in Chromium, in English and Japanese.

Crashes arrive through the Sentry envelope endpoint, and sessions as Sentry
``session`` envelope items or through Shindan's own sessions endpoint; the
server counts them into hourly aggregates.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect

from service.clock import utc_now
from tests.server import Server
from tests.web.breakdown_data import (
    CRASHES,
    NATIVE_RELEASE,
    NEW_RELEASE,
    OLD_RELEASE,
    SESSION_PLANS,
    send_crashes,
    send_native_sessions,
    send_sessions,
    wait_for_sessions,
)
from tests.web.helpers import create_user
from tests.web.page_login import log_in

SLUG = "clinic-releases"
DEVICE_SLUG = "clinic-device-sessions"


@pytest.fixture(scope="module")
def project(server: Server) -> str:
    create_user(server, "releases-en@example.com", "viewer")
    create_user(server, "releases-ja@example.com", "member")
    server.create_project(SLUG)
    send_crashes(server, SLUG, CRASHES)
    send_sessions(server, SLUG, SESSION_PLANS, utc_now() - timedelta(hours=3))
    wait_for_sessions(server, SLUG, OLD_RELEASE, 10)
    wait_for_sessions(server, SLUG, NEW_RELEASE, 40)
    return SLUG


def release_row(page: Page, release: str) -> Locator:
    return page.locator(f'table.releases tr[data-release="{release}"]')


def test_release_list_in_english(server: Server, project: str, english: BrowserContext) -> None:
    page = english.new_page()
    log_in(page, server, "releases-en@example.com", f"/projects/{project}/issues")
    page.locator("nav.project-nav").get_by_role("link", name="Releases").click()
    expect(page).to_have_url(f"{server.base_url}/projects/{project}/releases")
    expect(page.locator("h1")).to_have_text("Releases of clinic-releases")
    expect(page.locator("nav.project-nav a.current")).to_have_text("Releases")

    rows = page.locator("table.releases tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_have_attribute("data-release", NEW_RELEASE)
    new = release_row(page, NEW_RELEASE)
    expect(new.locator("td.release a")).to_have_text("2.4.0+420")
    expect(new.locator("td.crash-free-sessions")).to_have_text("92.50%37 / 40")
    expect(new.locator("td.crash-free-users")).to_have_text("85.00%17 / 20")
    expect(new.locator("td.adoption")).to_contain_text("80.0%")
    expect(new.locator("td.adoption .ratio")).to_have_text("40 / 50")
    expect(new.locator("td.num").last).to_have_text("7")
    expect(new.locator(".warning-marker")).to_have_text("⚠ incomplete sessions")
    expect(new.locator(".warning-marker")).to_have_attribute("title", "More crash events (7) than crashed sessions (3): the crash-free figures are too high.")

    old = release_row(page, OLD_RELEASE)
    expect(old.locator("td.crash-free-sessions")).to_have_text("60.00%6 / 10")
    expect(old.locator("td.crash-free-users")).to_have_text("60.00%3 / 5")
    expect(old.locator("td.adoption .ratio")).to_have_text("10 / 50")
    expect(old.locator(".warning-marker")).to_have_count(0)
    expect(page.locator(".message.warning")).to_contain_text("more crash events than crashed sessions")

    chart = page.locator("figure.trend-chart")
    expect(chart.locator("figcaption")).to_have_text("Crash-free sessions of the releases with the most sessions")
    expect(chart.locator(".trend-legend li")).to_have_text(["2.4.0+420", "2.3.0+417"])
    expect(chart.locator("polyline.series-0")).to_have_count(1)
    expect(chart.locator("polyline.series-1")).to_have_count(1)
    expect(chart.locator("circle.series-0 title").first).to_contain_text("92.50%")
    line_colours = {chart.locator(f"polyline.series-{index}").evaluate("line => getComputedStyle(line).stroke") for index in (0, 1)}
    assert len(line_colours) == 2

    page.get_by_role("link", name="24 hours").click()
    expect(page).to_have_url(f"{server.base_url}/projects/{project}/releases?period=24h")
    expect(page.locator(".period-links strong")).to_have_text("24 hours")
    expect(release_row(page, NEW_RELEASE).locator("td.crash-free-sessions")).to_have_text("92.50%37 / 40")


def test_release_page_in_english(server: Server, project: str, english: BrowserContext) -> None:
    page = english.new_page()
    log_in(page, server, "releases-en@example.com", f"/projects/{project}/releases")
    release_row(page, NEW_RELEASE).get_by_role("link").click()
    expect(page).to_have_url(f"{server.base_url}/projects/{project}/releases/{NEW_RELEASE}")
    expect(page.locator("h1")).to_have_text(NEW_RELEASE)
    expect(page.locator("#crash-free-sessions")).to_have_text("92.50%37 / 40")
    expect(page.locator("#crash-free-users")).to_have_text("85.00%17 / 20")
    expect(page.locator("#adoption")).to_have_text("80.0%40 / 50")
    expect(page.locator("#data-quality")).to_have_text(
        "This release has more crash events (7) than crashed sessions (3) in this period. "
        "The app sends crashes without session updates, or updates were lost, so the crash-free figures are too high."
    )

    trend = page.locator("figure.trend-chart")
    expect(trend.locator(".trend-legend li")).to_have_text(["Crash-free sessions", "Crash-free users"])
    expect(trend.locator("polyline")).to_have_count(2)

    devices = page.locator('#breakdowns figure[data-dimension="device"]')
    for header in ("Device", "Share of sessions", "Sessions", "Crash-free sessions", "Crash events"):
        expect(devices.locator("thead")).to_contain_text(header)
    unknown = devices.locator("tr.bar-unknown")
    expect(unknown.locator("th")).to_have_text("Unknown")
    expect(unknown.locator(".bar-share")).to_have_text("100.0%")
    expect(unknown.locator("td.num")).to_have_text(["40", "92.50%", "1"])
    iphone = devices.locator("tbody tr", has_text="iPhone 14 Pro")
    expect(iphone.locator("td.num")).to_have_text(["0", "–", "3"])
    # The sessions' unknown OS and the four OS versions of the release's crashes.
    expect(page.locator('#breakdowns figure[data-dimension="os"] tbody tr')).to_have_count(5)

    page.get_by_role("link", name="Issues seen in this release").click()
    expect(page).to_have_url(f"{server.base_url}/projects/{project}/issues?status=all&release=jp.clinic.ClinicApp%402.4.0%2B420")
    expect(page.locator("table.issues tbody tr")).to_have_count(1)


def test_release_pages_in_japanese(server: Server, project: str, japanese: BrowserContext) -> None:
    page = japanese.new_page()
    log_in(page, server, "releases-ja@example.com", f"/projects/{project}/releases")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.locator("h1")).to_have_text("clinic-releases のリリース")
    expect(page.locator("nav.project-nav")).to_contain_text("イシュー")
    headers = page.locator("table.releases thead")
    for header in ("リリース", "セッション数", "クラッシュフリー セッション", "ユーザー数", "クラッシュフリー ユーザー", "普及率", "クラッシュ件数"):
        expect(headers).to_contain_text(header)
    expect(release_row(page, NEW_RELEASE).locator(".warning-marker")).to_have_text("⚠ セッション不足")
    expect(page.locator(".message.warning")).to_contain_text("クラッシュ件数がクラッシュしたセッション数より多く")
    expect(page.locator("figure.trend-chart figcaption")).to_have_text("セッション数の多いリリースのクラッシュフリー セッション率")
    expect(page.locator(".period-links")).to_contain_text("30日")

    release_row(page, OLD_RELEASE).get_by_role("link").click()
    expect(page.locator("#crash-free-sessions")).to_have_text("60.00%6 / 10")
    expect(page.locator("#data-quality")).to_have_count(0)
    expect(page.locator("dl.release-summary")).to_contain_text("クラッシュしたセッション数")
    expect(page.locator("figure.trend-chart .trend-legend")).to_contain_text("クラッシュフリー ユーザー")
    devices = page.locator('#breakdowns figure[data-dimension="device"]')
    expect(devices.locator("figcaption")).to_have_text("デバイス")
    expect(devices.locator("thead")).to_contain_text("セッションの割合")
    expect(devices.locator("thead")).to_contain_text("クラッシュ件数")
    expect(devices.locator("tr.bar-unknown th")).to_have_text("不明")
    expect(page.get_by_role("link", name="このリリースで発生したイシュー")).to_be_visible()


def test_unknown_release_page(server: Server, project: str, english: BrowserContext) -> None:
    page = english.new_page()
    log_in(page, server, "releases-en@example.com", f"/projects/{project}/releases")
    response = page.goto(f"{server.base_url}/projects/{project}/releases/{project}@0.0.1")
    assert response is not None
    assert response.status == 404
    expect(page.locator("body")).to_contain_text(f"Release {project}@0.0.1 has no sessions or crashes in the last 7 days.")
    bad_period = page.goto(f"{server.base_url}/projects/{project}/releases?period=2y")
    assert bad_period is not None
    assert bad_period.status == 400
    expect(page.locator("body")).to_contain_text("Unknown period 2y.")


def test_release_page_sessions_per_device(server: Server, project: str, english: BrowserContext) -> None:
    server.create_project(DEVICE_SLUG)
    send_native_sessions(server, DEVICE_SLUG, utc_now() - timedelta(hours=1))
    wait_for_sessions(server, DEVICE_SLUG, NATIVE_RELEASE, 20)
    page = english.new_page()
    log_in(page, server, "releases-en@example.com", f"/projects/{DEVICE_SLUG}/releases/{NATIVE_RELEASE}")
    expect(page.locator("#crash-free-sessions")).to_have_text("85.00%17 / 20")
    expect(page.locator("#data-quality")).to_have_count(0)
    rows = page.locator('#breakdowns figure[data-dimension="device"] tbody tr')
    expect(rows).to_have_count(2)
    expect(rows.nth(0).locator("th")).to_have_text("iPhone 14 Pro iPhone15,2")
    expect(rows.nth(0).locator(".bar-share")).to_have_text("60.0%")
    expect(rows.nth(0).locator("td.num")).to_have_text(["12", "91.67%", "0"])
    expect(rows.nth(1).locator("th")).to_have_text("iPhone 7 Plus iPhone9,2, iPhone9,4")
    expect(rows.nth(1).locator("td.num")).to_have_text(["8", "75.00%", "0"])
    widths = rows.locator("rect.bar-fill").evaluate_all("rects => rects.map(rect => rect.getAttribute('width'))")
    assert widths == ["60.00", "40.00"]
    os_rows = page.locator('#breakdowns figure[data-dimension="os"] tbody tr')
    expect(os_rows.locator("th")).to_have_text(["iOS 18.1", "iOS 15.8"])
