"""Edit cards (live validation, brand icon, delete through the confirmation pop-up), and a buyer
paying a marketplace's trade by card with 3-D Secure, confirming receipt, and finding it in the
payment history (and its CSV)."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import expect

from tests.browser.conftest import log_in, new_email, register_by_api


class TestEditCards:
    def test_a_card_is_bound_and_deleted_through_the_confirmation_dialog(self, page, cabinet, screenshots):
        email = new_email("cards")
        register_by_api(cabinet, email)
        log_in(page, email)
        page.get_by_role("link", name="Edit cards").first.click()
        number = page.get_by_label("Card number")
        number.press_sequentially("4242424242424241")
        expect(number).to_have_attribute("aria-invalid", "true")
        expect(page.locator("#number-status")).to_contain_text("not valid")
        number.fill("")
        number.press_sequentially("4242424242424242")
        expect(number).to_have_value("4242 4242 4242 4242")
        expect(number).to_have_attribute("aria-invalid", "false")
        expect(page.locator("[data-brand-icon]")).to_have_attribute("src", re.compile("visa"))
        page.get_by_label("Expiry (MM/YY)").press_sequentially("1240")
        expect(page.get_by_label("Expiry (MM/YY)")).to_have_value("12/40")
        page.get_by_label("CVC").fill("123")
        page.get_by_label("Name on the card").fill("Dewi Lestari")
        page.screenshot(path=screenshots / "cards-add.png", full_page=True)
        page.get_by_role("button", name="Bind the card").click()
        expect(page.get_by_role("status")).to_contain_text("bound")
        expect(page.locator(".card-row")).to_have_count(1)
        expect(page.locator(".card-row")).to_contain_text("4242")

        page.get_by_role("button", name="Delete card").click()
        dialog = page.get_by_role("dialog")
        expect(dialog).to_be_visible()
        expect(dialog).to_contain_text("4242")
        page.screenshot(path=screenshots / "cards-delete-dialog.png")
        dialog.get_by_role("button", name="Cancel").click()
        expect(dialog).to_be_hidden()
        expect(page.locator(".card-row")).to_have_count(1)

        page.get_by_role("button", name="Delete card").click()
        page.get_by_role("dialog").get_by_role("button", name="Yes, delete").click()
        expect(page.get_by_role("status")).to_contain_text("deleted")
        expect(page.locator(".card-row")).to_have_count(0)


def _marketplace_trade(cabinet, buyer_email: str, subject: str) -> dict:
    made = cabinet.amanah("platforms", "create", "Browser Bazaar")
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip().splitlines()[0]
    headers = {"Authorization": f"Bearer {key}"}
    seller = httpx.post(f"{cabinet.url}/v1/sellers", headers=headers, json={
        "platform_seller_id": "teapots", "email": new_email("seller"), "name": "Teapot Workshop"}).json()
    trade = httpx.post(f"{cabinet.url}/v1/trades", headers=headers, json={
        "out_trade_no": f"B-{new_email()[6:14]}", "seller_id": seller["id"],
        "buyer": {"platform_user_id": "dewi", "email": buyer_email}, "amount": 2599, "currency": "USD",
        "subject": subject})
    assert trade.status_code == 201, trade.text
    return trade.json()


class TestCheckout:
    def test_a_buyer_pays_by_card_with_3d_secure_confirms_receipt_and_sees_it_in_history(
            self, page, cabinet, screenshots):
        email = new_email("checkout")
        register_by_api(cabinet, email)
        assert cabinet.amanah("rates", "load-sample").returncode == 0
        trade = _marketplace_trade(cabinet, email, "Blue clay teapot, 600 ml")
        log_in(page, email)
        page.goto(trade["checkout_url"])
        expect(page.get_by_role("heading", name="Blue clay teapot, 600 ml")).to_be_visible()
        expect(page.locator(".order")).to_contain_text("Teapot Workshop")
        expect(page.locator(".order")).to_contain_text("$25.99")

        page.get_by_label("Pay in").select_option("EUR")  # the live quote
        expect(page.locator("#quote")).to_contain_text("€")
        page.get_by_label("Pay in").select_option("USD")
        expect(page.locator("#quote")).to_contain_text("no conversion")

        page.get_by_label("A new card").check()
        page.get_by_label("Card number").fill("4000 0000 0000 3220")
        page.get_by_label("Expiry (MM/YY)").fill("11/39")
        page.get_by_label("CVC").fill("123")
        page.get_by_label("Name on the card").fill("Dewi Lestari")
        page.screenshot(path=screenshots / "checkout.png", full_page=True)
        page.get_by_role("button", name="Pay", exact=True).click()

        expect(page.get_by_role("heading", name="3-D Secure check")).to_be_visible()
        page.screenshot(path=screenshots / "3d-secure.png")
        page.get_by_role("button", name="Approve").click()
        expect(page.get_by_role("heading", name="Payment received")).to_be_visible()
        page.screenshot(path=screenshots / "payment-result.png", full_page=True)

        page.get_by_role("link", name="See the order").click()
        expect(page.locator(".timeline")).to_contain_text("Paid")
        page.screenshot(path=screenshots / "trade.png", full_page=True)
        page.get_by_role("button", name="Confirm receipt").click()
        dialog = page.get_by_role("dialog")
        expect(dialog).to_be_visible()
        dialog.get_by_role("button", name="Yes, I received it").click()
        expect(page.get_by_role("status")).to_contain_text("seller has been paid")
        expect(page.locator(".tag.status-completed")).to_be_visible()

        page.get_by_role("link", name="Payment history").click()
        expect(page.get_by_role("heading", name="Payment history")).to_be_visible()
        expect(page.locator("table")).to_contain_text("Blue clay teapot")
        page.screenshot(path=screenshots / "history.png", full_page=True)
        page.get_by_label("Type").select_option("payment")
        page.get_by_role("button", name="Show").click()
        expect(page.locator("tbody tr")).to_have_count(1)
        page.locator("tbody a").first.click()
        expect(page.locator("dl.facts")).to_contain_text("Teapot Workshop")
        page.go_back()
        with page.expect_download() as download:
            page.get_by_role("link", name="Download CSV").click()
        content = open(download.value.path(), encoding="utf-8-sig").read()
        assert content.startswith("date_utc,type,amount")
        assert "Blue clay teapot" in content
