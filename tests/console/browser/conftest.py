"""The console lane: a real daemon serving the console, and Debian's chromium driven by
playwright.

``make test-console`` names the browser in ``$SKILLRT_CONSOLE_BROWSER`` (and where screenshots
go in ``$SKILLRT_CONSOLE_SCREENSHOTS``); without it (``make test``) these tests are skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from tests.api.conftest import cleanup
from tests.console.conftest import ConsoleDaemon, start_console_daemon

BROWSER_VARIABLE = "SKILLRT_CONSOLE_BROWSER"
PHONE = {"width": 375, "height": 740}  # a small phone's viewport, in CSS pixels


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if not os.environ.get(BROWSER_VARIABLE):
        pytest.skip(f"needs the console lane (make test-console sets ${BROWSER_VARIABLE})")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def chromium(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=os.environ[BROWSER_VARIABLE])
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where each test leaves pictures of the pages it saw."""
    named = os.environ.get("SKILLRT_CONSOLE_SCREENSHOTS")
    folder = Path(named) if named else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def console() -> Iterator[ConsoleDaemon]:
    """One daemon for the lane, serving the console on loopback."""
    served = start_console_daemon()
    yield served
    cleanup(served.daemon)


@pytest.fixture
def context(chromium: Browser) -> Iterator[BrowserContext]:
    made = chromium.new_context()
    made.set_default_timeout(20_000)
    yield made
    made.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def url(console: ConsoleDaemon, path: str = "/") -> str:
    return f"http://127.0.0.1:{console.port}{path}"


def sign_in(page: Page, console: ConsoleDaemon, name: str, password: str, code: str = "") -> None:
    page.goto(url(console, "/login"))
    page.fill("#password-form input[name=name]", name)
    page.fill("#password-form input[name=password]", password)
    if code:
        page.fill("#password-form input[name=code]", code)
    page.click("#password-form button[type=submit]")
    page.wait_for_selector("#logout")
