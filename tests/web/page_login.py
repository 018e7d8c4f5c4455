"""Browser contexts in English and Japanese, and logging in through the login form."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.server import Server
from tests.web.helpers import PASSWORD


def open_context(browser: Browser, locale: str) -> BrowserContext:
    context = browser.new_context(locale=locale, viewport={"width": 1366, "height": 900})
    context.set_default_timeout(15_000)
    return context


@pytest.fixture
def english(browser: Browser) -> Iterator[BrowserContext]:
    context = open_context(browser, "en-US")
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def japanese(browser: Browser) -> Iterator[BrowserContext]:
    context = open_context(browser, "ja-JP")
    try:
        yield context
    finally:
        context.close()


def log_in(page: Page, server: Server, email: str, path: str) -> None:
    """Open ``path``, get sent to the login form, log in and land on ``path``."""
    page.goto(server.base_url + path)
    expect(page.locator("#email")).to_be_visible()
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("form.stacked button[type=submit]")
    expect(page).to_have_url(server.base_url + path)
