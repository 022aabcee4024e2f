"""The back office in a real browser: an operator made with ``amanah operators create`` logs in
with the one-time password and an authenticator code, must choose a password first, then
finds a user and reads the audit log of what they just did."""

from __future__ import annotations

from datetime import datetime

import httpx
import pyotp
from playwright.sync_api import expect

from tests.browser.conftest import new_email, register_by_api


def server_code(cabinet, operator_key: str, secret: str) -> str:
    """The authenticator's code at the server's own clock (test mode may have moved it on)."""
    moved = httpx.post(f"{cabinet.url}/v1/test/clock/advance", json={"seconds": 0},
                       headers={"Authorization": f"Bearer {operator_key}"})
    assert moved.status_code == 200, moved.text
    return pyotp.TOTP(secret).at(datetime.fromisoformat(moved.json()["now"].replace("Z", "+00:00")))


def test_an_operator_logs_in_with_a_code_chooses_a_password_and_searches(page, cabinet, operator_key, screenshots):
    email = new_email("operator")
    made = cabinet.amanah("operators", "create", email)
    assert made.returncode == 0, made.stderr
    one_time = made.stdout.split("one-time password:")[1].split()[0]
    secret = made.stdout.split("TOTP secret:")[1].split()[0]
    buyer = new_email("bo-buyer")
    register_by_api(cabinet, buyer)

    page.goto("/backoffice/disputes")
    page.wait_for_url("**/backoffice/login?next=*")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(one_time)
    page.get_by_label("6-digit code").fill("000000" if server_code(cabinet, operator_key, secret) != "000000"
                                            else "111111")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("wrong")

    page.get_by_label("Password").fill(one_time)
    page.get_by_label("6-digit code").fill(server_code(cabinet, operator_key, secret))
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/backoffice/password")
    page.get_by_label("Current password").fill(one_time)
    page.get_by_label("New password", exact=True).fill("back office passphrase 77")
    page.get_by_label("New password again").fill("back office passphrase 77")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("status")).to_contain_text("password is changed")

    page.get_by_label("E-mail, platform name").fill(buyer[:14])
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=buyer).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(buyer)
    page.screenshot(path=screenshots / "backoffice-user.png", full_page=True)

    page.get_by_role("link", name="Audit log").click()
    expect(page.locator("table.audit")).to_contain_text("operator.password_change")
    expect(page.locator("table.audit")).to_contain_text("operator.log_in")
    page.screenshot(path=screenshots / "backoffice-audit-log.png", full_page=True)
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/backoffice/login")
