"""Every money form is safe to repeat, in a real browser (issue 29): after a submission, a reload,
going back and submitting again, and a double click on a new form each leave exactly the effects
meant — the balances and the history say so."""

from __future__ import annotations

import httpx
from playwright.sync_api import expect

from tests.browser.conftest import PASSWORD, log_in, new_email, register_by_api
from tests.browser.test_cards_and_checkout import _marketplace_trade


def _token(cabinet, email: str) -> dict:
    made = httpx.post(f"{cabinet.url}/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert made.status_code == 200, made.text
    return {"Authorization": f"Bearer {made.json()['access_token']}"}


def _funded(cabinet, email: str, amount: int) -> tuple[dict, str]:
    """A card bound and the balance topped up through the API: (the API headers, the card)."""
    headers = _token(cabinet, email)
    card = httpx.post(f"{cabinet.url}/v1/me/cards", headers=headers, json={
        "number": "4242424242424242", "exp_month": 12, "exp_year": 2039, "cvc": "123", "holder_name": "Dewi"})
    assert card.status_code == 201, card.text
    if amount:
        topped = httpx.post(f"{cabinet.url}/v1/me/topups", headers=headers,
                            json={"amount": amount, "currency": "USD", "card_id": card.json()["id"]})
        assert topped.status_code == 201 and topped.json()["status"] == "succeeded", topped.text
    return headers, card.json()["id"]


def _available(cabinet, headers: dict, code: str = "USD") -> int:
    data = httpx.get(f"{cabinet.url}/v1/me/balances", headers=headers).json()["data"]
    return next((b["available"] for b in data if b["currency"] == code), 0)


def _count(cabinet, headers: dict, type_: str) -> int:
    """How many things of this type the history shows (a withdrawal's hold and payout are one)."""
    lines = httpx.get(f"{cabinet.url}/v1/me/history", headers=headers, params={"type": type_, "limit": 100}).json()
    return len({line["reference"] or line["id"] for line in lines["data"]})


def _submit_withdrawal(page, amount: str) -> None:
    page.get_by_label("Amount").fill(amount)
    page.get_by_role("button", name="Withdraw").click()


class TestWithdraw:
    def test_reload_back_and_resubmit_and_a_double_click_each_withdraw_once(self, page, cabinet):
        email = new_email("repeat")
        register_by_api(cabinet, email)
        headers, _card = _funded(cabinet, email, 10000)
        log_in(page, email)
        page.goto("/account/withdraw")
        _submit_withdrawal(page, "10.00")
        expect(page.get_by_role("status")).to_contain_text("on its way")
        assert "/account/withdraw/wdr_" in page.url
        assert _available(cabinet, headers) == 9000

        page.reload()
        expect(page.get_by_role("status")).to_contain_text("on its way")
        assert _available(cabinet, headers) == 9000

        page.go_back()  # the form as it was sent, with its key: sending it again does nothing new
        expect(page.get_by_role("button", name="Withdraw")).to_be_visible()
        _submit_withdrawal(page, "10.00")
        expect(page.get_by_role("status")).to_contain_text("on its way")
        assert _available(cabinet, headers) == 9000
        assert _count(cabinet, headers, "withdrawal") == 1

        page.goto("/account/withdraw")  # a new form: a new withdrawal, once however it is clicked
        page.get_by_label("Amount").fill("5.00")
        page.get_by_role("button", name="Withdraw").dblclick()
        expect(page.get_by_role("status")).to_contain_text("on its way")
        page.reload()
        assert _available(cabinet, headers) == 8500
        assert _count(cabinet, headers, "withdrawal") == 2


class TestTopUp:
    def test_reload_back_and_resubmit_and_a_double_click_each_top_up_once(self, page, cabinet):
        email = new_email("repeat")
        register_by_api(cabinet, email)
        headers, _card = _funded(cabinet, email, 0)
        log_in(page, email)
        page.goto("/account/top-up")
        page.get_by_label("Amount").fill("20.00")
        page.get_by_role("button", name="Top up").click()
        expect(page.get_by_role("status")).to_contain_text("added to your balance")
        page.reload()
        page.go_back()
        expect(page.get_by_role("button", name="Top up")).to_be_visible()
        page.get_by_label("Amount").fill("20.00")
        page.get_by_role("button", name="Top up").click()
        expect(page.get_by_role("status")).to_contain_text("added to your balance")
        assert _available(cabinet, headers) == 2000

        page.goto("/account/top-up")
        page.get_by_label("Amount").fill("3.00")
        page.get_by_role("button", name="Top up").dblclick()
        expect(page.get_by_role("status")).to_contain_text("added to your balance")
        page.reload()
        assert _available(cabinet, headers) == 2300
        assert _count(cabinet, headers, "topup") == 2


class TestCheckoutAndReceipt:
    def test_paying_and_confirming_are_done_once_however_often_they_are_sent(self, page, cabinet):
        email = new_email("repeat")
        register_by_api(cabinet, email)
        headers, _card = _funded(cabinet, email, 10000)
        trade = _marketplace_trade(cabinet, email, "Green clay teapot")
        log_in(page, email)
        page.goto(trade["checkout_url"])
        page.get_by_label("My balance").check()
        page.get_by_role("button", name="Pay", exact=True).dblclick()
        expect(page.get_by_role("heading", name="Payment received")).to_be_visible()
        page.reload()
        page.go_back()  # the checkout as it was sent, with its key
        page.get_by_role("button", name="Pay", exact=True).click()
        expect(page.get_by_role("heading", name="Payment received")).to_be_visible()
        assert _available(cabinet, headers) == 10000 - 2599

        page.goto(f"/trades/{trade['id']}")
        page.get_by_role("button", name="Confirm receipt").click()
        page.get_by_role("dialog").get_by_role("button", name="Yes, I received it").click()
        expect(page.get_by_role("status")).to_contain_text("seller has been paid")
        page.reload()
        page.go_back()  # the order as it was, its confirm form with the key already used
        page.get_by_role("button", name="Confirm receipt").click()
        page.get_by_role("dialog").get_by_role("button", name="Yes, I received it").click()
        expect(page.get_by_role("status")).to_contain_text("seller has been paid")
        expect(page.locator(".tag.status-completed")).to_be_visible()
        assert _count(cabinet, headers, "payment") == 1
