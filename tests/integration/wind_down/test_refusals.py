"""While winding down, new business is refused with ``type: service_mode`` and words a person
understands; everything that settles what already exists keeps working."""

from __future__ import annotations

import secrets

from tests.integration.wind_down.conftest import CARD, bind_card, register


def assert_refused(response, *words: str) -> None:
    assert response.status_code == 403, response.text
    error = response.json()["error"]
    assert error["type"] == "service_mode" and error["code"] == "service_winding_down"
    for word in words:
        assert word in error["message"], error["message"]


class TestNewBusinessIsRefused:
    def test_registration(self, market, wind_down):
        wind_down()
        response = market.client.post("/v1/users", json={"email": f"new.{secrets.token_hex(4)}@example.com",
                                                          "password": "correct horse battery staple", "name": "N"})
        assert_refused(response, "Registration is closed", "withdraw your balance")

    def test_card_binding(self, market, wind_down):
        _user, headers = register(market.client)
        wind_down()
        assert_refused(market.client.post("/v1/me/cards", json=CARD, headers=headers), "Binding new cards")
        assert market.client.get("/v1/me/cards", headers=headers).json()["data"] == []

    def test_a_new_trade_for_a_new_buyer_which_would_register_them(self, market, wind_down):
        wind_down()
        response = market.client.post("/v1/trades", headers=market.as_platform, json={
            "out_trade_no": "wd-1", "seller_id": market.seller["id"], "amount": 100, "currency": "USD",
            "subject": "Teapot", "buyer": {"platform_user_id": "b-new", "email": "b.new@example.com"}})
        assert_refused(response, "Opening new trades is closed", "Trades already open keep working")

    def test_a_new_trade_for_a_buyer_who_has_an_account(self, market, wind_down):
        trade = market.open_trade()
        wind_down()
        response = market.client.post("/v1/trades", headers=market.as_platform, json={
            "out_trade_no": "wd-2", "seller_id": market.seller["id"], "amount": 100, "currency": "USD",
            "subject": "Teapot", "buyer": {"platform_user_id": trade["buyer"]["platform_user_id"],
                                           "email": "ignored@example.com"}})
        assert_refused(response, "Opening new trades is closed")

    def test_paying_an_open_trade_by_card_which_would_bring_new_money_in(self, market, wind_down):
        trade = market.open_trade(1500)
        buyer = market.token_for(trade["buyer"]["user_id"])
        card = bind_card(market.client, buyer)
        wind_down()
        paid = market.client.post(f"/v1/trades/{trade['id']}/pay", json={"source": card["id"]}, headers=buyer)
        assert_refused(paid, "Paying by card", "balance")
        still = market.client.get(f"/v1/trades/{trade['id']}", headers=buyer).json()
        assert still["status"] == "awaiting_payment" and still["payment"] is None, still
        market.fund(trade["buyer"]["user_id"], 1500)
        by_balance = market.client.post(f"/v1/trades/{trade['id']}/pay", json={"source": "balance"}, headers=buyer)
        assert by_balance.status_code == 200 and by_balance.json()["status"] == "held", by_balance.text
        market.verify()

    def test_a_new_seller(self, market, wind_down):
        wind_down()
        response = market.client.post("/v1/sellers", headers=market.as_platform, json={
            "platform_seller_id": "s-new", "email": f"s.{secrets.token_hex(4)}@example.com", "name": "S"})
        assert_refused(response, "Opening new accounts is closed")

    def test_sending_an_existing_trade_again_is_no_new_business_and_returns_it(self, market, wind_down):
        trade = market.open_trade()
        wind_down()
        again = market.client.post("/v1/trades", headers=market.as_platform, json={
            "out_trade_no": trade["out_trade_no"], "seller_id": market.seller["id"], "amount": trade["amount"],
            "currency": "USD", "subject": trade["subject"],
            "buyer": {"platform_user_id": trade["buyer"]["platform_user_id"], "email": "x@example.com"}})
        assert again.status_code in (200, 201), again.text
        assert again.json()["id"] == trade["id"]

    def test_back_to_normal_everything_opens_again(self, market, wind_down):
        wind_down()
        reopened = market.client.put("/v1/admin/service-mode", json={"mode": "normal"}, headers=market.as_operator)
        assert reopened.json()["mode"] == "normal"
        _user, headers = register(market.client)
        bind_card(market.client, headers)
        market.open_trade()


class TestWhatStillWorks:
    def test_log_in_and_password_recovery(self, market, wind_down):
        email = f"user.{secrets.token_hex(6)}@example.com"
        register(market.client, email)
        wind_down()
        token = market.client.post("/v1/auth/token", json={"email": email, "password": "correct horse battery staple"})
        assert token.status_code == 200, token.text
        captcha = market.client.get("/v1/captcha").json()
        reset = market.client.post("/v1/password-resets", json={"email": email, "captcha_id": captcha["captcha_id"],
                                                                "captcha_answer": "test"})
        assert reset.status_code == 202, reset.text

    def test_paying_an_open_trade_from_the_balance_then_ship_and_confirm(self, market, wind_down):
        trade = market.open_trade(1500)
        buyer = market.token_for(trade["buyer"]["user_id"])
        market.fund(trade["buyer"]["user_id"], 1500)
        wind_down()
        paid = market.client.post(f"/v1/trades/{trade['id']}/pay", json={"source": "balance"}, headers=buyer)
        assert paid.status_code == 200 and paid.json()["status"] == "held", paid.text
        shipped = market.client.post(f"/v1/trades/{trade['id']}/ship", headers=market.as_platform,
                                     json={"carrier": "DHL", "tracking_number": "JD1"})
        assert shipped.json()["status"] == "shipped", shipped.text
        confirmed = market.client.post(f"/v1/trades/{trade['id']}/confirm", headers=buyer)
        assert confirmed.json()["status"] == "completed", confirmed.text
        market.verify()

    def test_refunds_disputes_and_automatic_release(self, market, wind_down):
        refunded, _ = market.paid_trade(1000)
        disputed, disputer = market.paid_trade(1000)
        timed, _ = market.paid_trade(1000)
        wind_down()
        refund = market.client.post(f"/v1/trades/{refunded['id']}/refunds", headers=market.as_platform,
                                    json={"amount": 1000, "reason": "out of stock"})
        assert refund.status_code in (200, 201), refund.text
        opened = market.client.post(f"/v1/trades/{disputed['id']}/dispute", headers=disputer,
                                    json={"reason": "never arrived"})
        assert opened.json()["status"] == "disputed", opened.text
        resolved = market.client.post(f"/v1/trades/{disputed['id']}/dispute/resolve", headers=market.as_platform,
                                      json={"outcome": "refund_buyer"})
        assert resolved.json()["status"] == "refunded", resolved.text
        market.client.post(f"/v1/trades/{timed['id']}/ship", headers=market.as_platform,
                           json={"carrier": "DHL", "tracking_number": "JD2"})
        market.advance(16 * 24 * 3600)  # past the 15 days of protection (the clock is shared: no further)
        released = market.client.get(f"/v1/trades/{timed['id']}", headers=market.as_platform).json()
        assert released["status"] == "completed"
        market.verify()

    def test_card_deletion_and_the_data_export(self, market, wind_down):
        _user, headers = register(market.client)
        card = bind_card(market.client, headers)
        wind_down()
        deleted = market.client.delete(f"/v1/me/cards/{card['id']}", headers=headers)
        assert deleted.status_code == 200 and deleted.json()["deleted"] is True
        assert market.client.get("/v1/me/export.json", headers=headers).status_code == 200
        assert market.client.get("/v1/me/export.csv", headers=headers).status_code == 200


class TestTheWallet:
    """Top-ups and withdrawals are the wallet's (issue of its own); here only that wind-down
    refuses the one and lets the other through, and that a withdrawn balance lets the user close."""

    def test_top_ups_are_refused_and_withdrawals_work_then_the_account_can_close(self, market, wind_down):
        user_id, headers = register(market.client)
        card = bind_card(market.client, headers)
        market.fund(user_id, 4000)
        wind_down()
        topup = market.client.post("/v1/me/topups", json={"amount": 100, "currency": "USD", "card_id": card["id"]},
                                   headers=headers)
        assert topup.status_code == 403 and topup.json()["error"]["type"] == "service_mode"
        withdrawal = market.client.post("/v1/me/withdrawals", json={"amount": 4000, "currency": "USD",
                                                                    "card_id": card["id"]}, headers=headers)
        assert withdrawal.status_code == 201, withdrawal.text
        market.advance(60)  # a payout still under way settles
        closed = market.client.post("/v1/me/close", json={"password": "correct horse battery staple"}, headers=headers)
        assert closed.status_code == 200, closed.text
        market.verify()
