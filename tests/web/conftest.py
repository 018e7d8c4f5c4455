"""Chromium for the UI tests, driven through Playwright.

The browser is the system's /usr/bin/chromium (Debian package ``chromium``),
not a Playwright download, so the tests run offline.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Playwright, sync_playwright

from tests.web.page_login import open_context

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as instance:
        yield instance


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    assert CHROMIUM.is_file(), f"{CHROMIUM} is missing: install it with 'apt-get install -y chromium'"
    instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    try:
        yield instance
    finally:
        instance.close()


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
