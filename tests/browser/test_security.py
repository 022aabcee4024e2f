"""My account → Security: see where you are signed in, end a session, change the password in place."""

from __future__ import annotations

import httpx
from playwright.sync_api import expect

from tests.browser.conftest import PASSWORD, log_in, new_email, register_by_api


def test_the_user_ends_another_session_and_changes_the_password(page, cabinet, screenshots):
    email = new_email("security")
    register_by_api(cabinet, email)
    token = httpx.post(f"{cabinet.url}/v1/auth/token", json={"email": email, "password": PASSWORD},
                       headers={"User-Agent": "curl/8.5.0"}).json()["access_token"]
    log_in(page, email)
    page.goto("/account/security")
    rows = page.locator("tr.session-row")
    expect(rows).to_have_count(2)
    expect(page.locator("tr.session-row.current")).to_contain_text("this device")
    expect(rows.filter(has_text="App (API token)")).to_contain_text("curl")
    page.screenshot(path=screenshots / "security.png", full_page=True)
    page.get_by_role("button", name="End the session").click()
    expect(page.get_by_role("status")).to_contain_text("session was ended")
    expect(page.locator("tr.session-row")).to_have_count(1)
    assert httpx.get(f"{cabinet.url}/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401

    page.get_by_label("Current password").fill("not the password")
    page.get_by_label("New password", exact=True).fill("a brand new passphrase 42")
    page.get_by_label("New password again").fill("a brand new passphrase 42")
    page.get_by_role("button", name="Change the password").click()
    expect(page.locator("#password-error")).to_be_visible()
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill("a brand new passphrase 42")
    page.get_by_label("New password again").fill("a brand new passphrase 42")
    page.get_by_role("button", name="Change the password").click()
    expect(page.get_by_role("status")).to_contain_text("password is changed")
    expect(page.locator("tr.session-row.current")).to_have_count(1)  # still signed in here
    assert httpx.post(f"{cabinet.url}/v1/auth/token", json={"email": email, "password": PASSWORD}).status_code == 401
