"""My account → Marketplaces in Chromium: accepting a marketplace's request to register the person
as its seller, letting a marketplace sign the person in; and a session the marketplace's link
opened asking for the password before a withdrawal, then going on with it."""

from __future__ import annotations

import httpx
from playwright.sync_api import expect

from tests.browser.conftest import PASSWORD, log_in, new_email, register_by_api

VISA = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2039, "cvc": "123", "holder_name": "Dewi Lestari"}


def _platform(cabinet, name: str) -> dict:
    made = cabinet.amanah("platforms", "create", name)
    assert made.returncode == 0, made.stderr
    return {"Authorization": f"Bearer {made.stdout.strip().splitlines()[0]}"}


def _token(cabinet, email: str) -> dict:
    response = httpx.post(f"{cabinet.url}/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


class TestMarketplaces:
    def test_the_person_accepts_a_marketplaces_seller_request(self, page, cabinet, screenshots):
        email = new_email("seller")
        register_by_api(cabinet, email)
        shop = _platform(cabinet, "Batik Bazaar")
        seller = httpx.post(f"{cabinet.url}/v1/sellers", headers=shop, json={
            "platform_seller_id": "dewi-batik", "email": email, "name": "Dewi's Batik"})
        assert seller.status_code == 201 and seller.json()["status"] == "pending", seller.text
        log_in(page, email)
        page.get_by_role("link", name="Marketplaces").click()
        expect(page.get_by_role("heading", name="Marketplaces", exact=True)).to_be_visible()
        request = page.locator(f"#request-{seller.json()['id']}")
        expect(request).to_contain_text("Batik Bazaar")
        expect(request).to_contain_text("Dewi's Batik")
        page.screenshot(path=screenshots / "marketplaces-request.png", full_page=True)
        request.get_by_role("button", name="Accept").click()
        expect(page.get_by_role("status")).to_contain_text("You are now this marketplace's seller")
        expect(page.locator(f"#request-{seller.json()['id']}")).to_have_count(0)
        expect(page.locator("table")).to_contain_text("active")
        answer = httpx.get(f"{cabinet.url}/v1/sellers/{seller.json()['id']}", headers=shop)
        assert answer.json()["status"] == "active"

    def test_a_marketplace_session_asks_for_the_password_before_a_withdrawal_and_then_goes_on(
            self, browser, page, cabinet, screenshots):
        email = new_email("sso")
        register_by_api(cabinet, email)
        shop = _platform(cabinet, "Sarong Shop")
        me = _token(cabinet, email)
        card = httpx.post(f"{cabinet.url}/v1/me/cards", headers=me, json=VISA)
        assert card.status_code == 201, card.text
        topup = httpx.post(f"{cabinet.url}/v1/me/topups", headers=me, json={
            "amount": 5_000, "currency": "USD", "card_id": card.json()["id"]})
        assert topup.status_code == 201 and topup.json()["status"] == "succeeded", topup.text
        seller = httpx.post(f"{cabinet.url}/v1/sellers", headers=shop, json={
            "platform_seller_id": "sarongs", "email": new_email("sarong-seller"), "name": "Sarongs"}).json()
        trade = httpx.post(f"{cabinet.url}/v1/trades", headers=shop, json={
            "out_trade_no": f"S-{new_email()[6:14]}", "seller_id": seller["id"],
            "buyer": {"platform_user_id": "dewi", "email": email}, "amount": 1_000, "currency": "USD",
            "subject": "Sarong"}).json()
        paid = httpx.post(f"{cabinet.url}/v1/trades/{trade['id']}/pay", headers=me, json={"source": "balance"})
        assert paid.status_code == 200, paid.text

        refused = httpx.post(f"{cabinet.url}/v1/sso/login-links", headers=shop,
                             json={"platform_user_id": "dewi", "email": email})
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "sso_not_allowed"
        log_in(page, email)
        page.goto("/account/marketplaces")
        page.get_by_role("button", name="Let Sarong Shop sign me in").click()
        expect(page.get_by_role("status")).to_contain_text("may now sign you in")

        link = httpx.post(f"{cabinet.url}/v1/sso/login-links", headers=shop,
                          json={"platform_user_id": "dewi", "email": email})
        assert link.status_code == 200, link.text
        context = browser.new_context(base_url=cabinet.url, locale="en-US", viewport={"width": 1100, "height": 800})
        try:
            from_shop = context.new_page()
            from_shop.goto(link.json()["url"])
            from_shop.wait_for_url("**/account")
            from_shop.get_by_role("link", name="Withdraw").first.click()
            expect(from_shop.get_by_role("heading", name="Confirm it is you")).to_be_visible()
            expect(from_shop.locator("main")).to_contain_text("Sarong Shop")
            from_shop.screenshot(path=screenshots / "step-up.png", full_page=True)
            # (a wrong password is tested over HTTP: the suite's browsers share one client address,
            # whose failures the log-in throttle counts)
            from_shop.get_by_label("Password").fill(PASSWORD)
            from_shop.get_by_role("button", name="Confirm").click()
            expect(from_shop.get_by_role("heading", name="Withdraw")).to_be_visible()
            assert from_shop.url.endswith("/account/withdraw")
            from_shop.get_by_label("Amount").fill("10.00")
            from_shop.get_by_role("button", name="Withdraw").click()
            expect(from_shop.get_by_role("status")).to_contain_text("$10.00")
        finally:
            context.close()
        balances = httpx.get(f"{cabinet.url}/v1/me/balances", headers=me).json()["data"]
        assert [b["available"] for b in balances if b["currency"] == "USD"] == [5_000 - 1_000 - 1_000]
