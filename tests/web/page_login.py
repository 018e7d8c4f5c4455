"""Opening a browser context for a locale, and logging in through the login form."""

from __future__ import annotations

from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.server import Server
from tests.web.helpers import PASSWORD


def open_context(browser: Browser, locale: str) -> BrowserContext:
    context = browser.new_context(locale=locale, viewport={"width": 1366, "height": 900})
    context.set_default_timeout(20_000)
    return context


def log_in(page: Page, server: Server, email: str, path: str) -> None:
    """Open ``path``, get sent to the login form, log in and land on ``path``."""
    page.goto(server.base_url + path)
    expect(page.locator("#email")).to_be_visible()
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("form.stacked button[type=submit]")
    expect(page).to_have_url(server.base_url + path)
