"""The seed's sign-in stories in a real browser: register, log out and in, forgot password with
the captcha and the e-mailed link, and switching the language."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import expect

from tests.browser.conftest import PASSWORD, log_in, new_email, register_by_api


class TestRegisterAndLogIn:
    def test_a_new_user_registers_lands_in_my_account_and_can_log_in_again(self, page, screenshots):
        email = new_email("register")
        page.goto("/")
        expect(page).to_have_url(re.compile(r"/login$"))
        expect(page.get_by_role("heading", name="Log in")).to_be_visible()
        page.screenshot(path=screenshots / "login.png", full_page=True)
        page.get_by_role("link", name="Create an account").click()
        page.get_by_label("Your name").fill("Budi Santoso")
        page.get_by_label("E-mail").fill(email)
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_label("Password again").fill(PASSWORD)
        page.screenshot(path=screenshots / "register.png", full_page=True)
        page.get_by_role("button", name="Create an account").click()
        expect(page.get_by_role("heading", name="My account")).to_be_visible()
        expect(page.get_by_text("Welcome!")).to_be_visible()
        page.screenshot(path=screenshots / "account.png", full_page=True)

        page.get_by_role("button", name="Log out").first.click()
        expect(page).to_have_url(re.compile(r"/login$"))
        page.goto("/account")  # signed out: the cabinet asks to log in, then comes back
        expect(page).to_have_url(re.compile(r"/login\?next="))
        page.get_by_label("E-mail").fill(email)
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("alert")).to_contain_text("wrong")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(re.compile(r"/account$"))


class TestForgotPassword:
    def test_the_emailed_link_sets_a_new_password(self, page, cabinet, operator_key, screenshots):
        email = new_email("forgot")
        register_by_api(cabinet, email)
        page.goto("/login")
        page.get_by_role("link", name="Forgot password?").click()
        picture = page.locator("#captcha img")
        first = picture.get_attribute("src")
        page.get_by_role("button", name="New picture").click()
        expect(picture).not_to_have_attribute("src", first)
        page.screenshot(path=screenshots / "forgot-password.png", full_page=True)
        page.get_by_label("E-mail").fill(email)
        page.get_by_label("Characters in the picture").fill("test")
        page.get_by_role("button", name="Get password").click()
        expect(page.get_by_role("status")).to_contain_text("we have sent it a link")

        link = _reset_link(cabinet, operator_key, email)
        page.goto(link)
        new_password = "a brand new long password"
        page.get_by_label("New password", exact=True).fill(new_password)
        page.get_by_label("New password again").fill(new_password)
        page.get_by_role("button", name="Set the new password").click()
        expect(page.get_by_role("heading", name="Your new password is set")).to_be_visible()
        log_in(page, email, new_password)
        expect(page.get_by_role("heading", name="My account")).to_be_visible()

    def test_a_wrong_captcha_answer_is_refused_with_a_new_picture(self, page):
        page.goto("/forgot-password")
        page.get_by_label("E-mail").fill(new_email())
        page.get_by_label("Characters in the picture").fill("nope")
        page.get_by_role("button", name="Get password").click()
        expect(page.get_by_role("alert")).to_contain_text("captcha")
        expect(page.locator("#captcha img")).to_be_visible()


def _reset_link(cabinet, operator_key: str, email: str) -> str:
    operator = {"Authorization": f"Bearer {operator_key}"}
    # In test mode the jobs (mail delivery among them) run when the test clock moves.
    advanced = httpx.post(f"{cabinet.url}/v1/test/clock/advance", json={"seconds": 1}, headers=operator)
    assert advanced.status_code == 200, advanced.text
    mails = httpx.get(f"{cabinet.url}/v1/test/outbox/mail?limit=100", headers=operator).json()
    for mail in mails["data"]:
        if mail["to"] == email and "reset-password" in mail["text"]:
            return re.search(r"https?://\S+/reset-password\?token=[\w\-]+", mail["text"]).group(0)
    raise AssertionError(f"no reset e-mail to {email}: {[m['subject'] for m in mails['data']]}")


class TestLanguage:
    def test_the_switcher_turns_the_cabinet_into_russian_and_back(self, page, screenshots):
        page.goto("/login")
        page.get_by_label("Language").select_option("ru")
        expect(page.locator("html")).to_have_attribute("lang", "ru")
        expect(page.get_by_role("heading", name="Вход")).to_be_visible()
        page.screenshot(path=screenshots / "login-ru.png", full_page=True)
        page.get_by_label("Язык").select_option("en")
        expect(page.get_by_role("heading", name="Log in")).to_be_visible()
