"""Browser tests: a real ``amanah serve`` in test mode, driven by Debian's Chromium through
Playwright for Python. No browser is ever downloaded: the suite uses ``/usr/bin/chromium`` and is
skipped, with the reason shown, where it is not installed.

Screenshots of the main pages go to ``$AMANAH_SCREENSHOT_DIR`` (a temporary directory by default;
its path is printed in the test report header)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import LiveServer, running_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 20_000
SERVER_START_TIMEOUT_S = 120
"""Generous: CI machines running other suites in parallel can be slow to start a server."""
PASSWORD = "correct horse battery staple"


def pytest_collection_modifyitems(config, items) -> None:
    if os.path.exists(CHROMIUM):
        return
    skip = pytest.mark.skip(reason=f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)")
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("AMANAH_SCREENSHOT_DIR") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots: {folder}")
    return folder


@pytest.fixture(scope="session")
def cabinet(database_url: str, tmp_path_factory, vault_key_file: Path) -> Iterator[LiveServer]:
    """One server for the whole browser suite (each test makes users of its own)."""
    with running_server(database_url, tmp_path_factory.mktemp("cabinet"), vault_key_file,
                        start_timeout_s=SERVER_START_TIMEOUT_S, AMANAH_CAPTCHA="test",
                        AMANAH_PASSWORD_HASHING="test") as server:
        yield server


@pytest.fixture(scope="session")
def operator_key(cabinet: LiveServer) -> str:
    done = cabinet.amanah("admin-keys", "create", "--label", "browser-tests")
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[0]


@pytest.fixture(scope="session")
def browser(cabinet):
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def page(browser, cabinet):
    context = browser.new_context(base_url=cabinet.url, locale="en-US", viewport={"width": 1100, "height": 800},
                                  accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    yield opened
    context.close()


def new_email(prefix: str = "buyer") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


def register_by_api(cabinet: LiveServer, email: str, name: str = "Dewi Lestari") -> None:
    response = httpx.post(f"{cabinet.url}/v1/users", json={"email": email, "password": PASSWORD, "name": name})
    assert response.status_code == 201, response.text


def log_in(page, email: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/account**")
