"""Trades, worked through the API as a marketplace, its buyers and sellers use them."""

from __future__ import annotations

from .conftest import make_market

DAY_S = 24 * 3600


class TestBuyerConfirmsReceipt:
    def test_the_seller_is_paid_the_price_less_the_platform_fee(self, market):
        trade, buyer = market.paid_trade(2599, fee={"bps": 250})
        assert trade["status"] == "held" and trade["held_amount"] == 2599
        seller_user = market.seller["user_id"]
        assert market.wallet(trade["buyer"]["user_id"]).debits_pending == 2599
        assert market.wallet(seller_user).credits_pending == 2599  # the seller sees it held too
        shipped = market.client.post(f"/v1/trades/{trade['id']}/ship", json={"carrier": "DHL", "tracking_number": "JD0001"},
                                     headers=market.as_platform).json()
        assert shipped["status"] == "shipped" and shipped["release_at"]
        done = market.client.post(f"/v1/trades/{trade['id']}/confirm", headers=buyer)
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "completed" and done.json()["fee_amount"] == 64  # 2.5% of 25.99, rounded down
        assert market.wallet(seller_user).available == 2599 - 64
        assert market.fees().credits_posted == 64
        assert market.wallet(trade["buyer"]["user_id"]).available == 0
        market.verify()

    def test_only_the_buyer_can_confirm(self, market):
        trade, _buyer = market.paid_trade()
        seller = market.token_for(market.seller["user_id"])
        response = market.client.post(f"/v1/trades/{trade['id']}/confirm", headers=seller)
        assert response.status_code == 403


class TestTheProtectionTimer:
    def test_the_money_is_released_by_itself_when_protection_ends(self, market):
        trade, _ = market.paid_trade(1000, protection_days=3, fee={"amount": 100})
        market.client.post(f"/v1/trades/{trade['id']}/ship", json={"carrier": "EMS", "tracking_number": "E1"},
                           headers=market.as_platform)
        market.advance(2 * DAY_S)
        assert market.client.get(f"/v1/trades/{trade['id']}", headers=market.as_platform).json()["status"] == "shipped"
        ran = market.advance(DAY_S + 1)
        assert ran["jobs_run"]["trades.auto_release"] >= 1
        after = market.client.get(f"/v1/trades/{trade['id']}", headers=market.as_platform).json()
        assert after["status"] == "completed" and after["fee_amount"] == 100
        assert market.wallet(market.seller["user_id"]).available >= 900
        market.verify()

    def test_a_dispute_stops_the_timer(self, market):
        trade, buyer = market.paid_trade(1000, protection_days=1)
        market.client.post(f"/v1/trades/{trade['id']}/ship", json={"carrier": "EMS", "tracking_number": "E2"},
                           headers=market.as_platform)
        disputed = market.client.post(f"/v1/trades/{trade['id']}/dispute", json={"reason": "It arrived broken"}, headers=buyer)
        assert disputed.json()["status"] == "disputed" and disputed.json()["release_at"] is None
        market.advance(5 * DAY_S)
        assert market.client.get(f"/v1/trades/{trade['id']}", headers=buyer).json()["status"] == "disputed"


class TestRefunds:
    def test_a_partial_refund_then_completion(self, market):
        trade, buyer = market.paid_trade(2599, fee={"bps": 250})
        refund = market.client.post(f"/v1/trades/{trade['id']}/refunds", json={"amount": 599, "reason": "one cup chipped"},
                                    headers=market.as_platform)
        assert refund.status_code == 201, refund.text
        assert refund.json()["id"].startswith("ref_") and refund.json()["source"] == "escrow"
        assert refund.json()["trade"]["held_amount"] == 2000 and refund.json()["trade"]["status"] == "held"
        assert market.wallet(trade["buyer"]["user_id"]).available == 599
        done = market.client.post(f"/v1/trades/{trade['id']}/confirm", headers=buyer).json()
        assert done["status"] == "completed" and done["fee_amount"] == 50
        assert market.wallet(market.seller["user_id"]).available == 1950
        market.verify()

    def test_refunds_never_exceed_what_was_paid(self, market):
        trade, _ = market.paid_trade(1000)
        assert market.client.post(f"/v1/trades/{trade['id']}/refunds", json={"amount": 700}, headers=market.as_platform).status_code == 201
        too_much = market.client.post(f"/v1/trades/{trade['id']}/refunds", json={"amount": 301}, headers=market.as_platform)
        assert too_much.status_code == 400 and too_much.json()["error"]["code"] == "refund_exceeds_paid"
        rest = market.client.post(f"/v1/trades/{trade['id']}/refunds", json={"amount": 300}, headers=market.as_platform)
        assert rest.json()["trade"]["status"] == "refunded"
        assert market.wallet(trade["buyer"]["user_id"]).available == 1000
        market.verify()

    def test_after_completion_the_refund_comes_from_the_sellers_balance(self, market):
        trade, buyer = market.paid_trade(1000)
        market.client.post(f"/v1/trades/{trade['id']}/confirm", headers=buyer)
        seller_before = market.wallet(market.seller["user_id"]).available
        refund = market.client.post(f"/v1/trades/{trade['id']}/refunds", json={"amount": 400}, headers=market.as_platform)
        assert refund.json()["source"] == "seller_balance"
        assert market.wallet(market.seller["user_id"]).available == seller_before - 400
        market.verify()

    def test_a_full_refund_after_completion_takes_back_what_the_sale_paid_and_the_fee(self, client, engine):
        market = make_market(client, engine)  # a fresh seller holding only this sale
        trade, buyer = market.paid_trade(1000, fee={"bps": 1000})
        market.client.post(f"/v1/trades/{trade['id']}/confirm", headers=buyer)
        refund = market.client.post(f"/v1/trades/{trade['id']}/refunds", json={"amount": 1000}, headers=market.as_platform)
        assert refund.status_code == 201, refund.text
        assert (refund.json()["seller_amount"], refund.json()["fee_refund_amount"]) == (900, 100)
        assert market.wallet(market.seller["user_id"]).available == 0
        market.verify()


class TestDisputes:
    def test_a_split_returns_part_to_the_buyer_and_pays_the_rest_to_the_seller(self, market):
        trade, buyer = market.paid_trade(2000, fee={"bps": 500})
        market.client.post(f"/v1/trades/{trade['id']}/dispute", json={"reason": "Half of it is missing"}, headers=buyer)
        settled = market.client.post(f"/v1/trades/{trade['id']}/dispute/resolve",
                                     json={"outcome": "split", "buyer_amount": 800}, headers=market.as_platform)
        assert settled.status_code == 200, settled.text
        assert settled.json()["status"] == "completed" and settled.json()["refunded_amount"] == 800
        assert market.wallet(trade["buyer"]["user_id"]).available == 800
        assert market.wallet(market.seller["user_id"]).available == 1200 - 60
        market.verify()

    def test_refund_buyer_returns_everything(self, market):
        trade, buyer = market.paid_trade(2000)
        market.client.post(f"/v1/trades/{trade['id']}/dispute", json={"reason": "Never arrived"}, headers=buyer)
        settled = market.client.post(f"/v1/trades/{trade['id']}/dispute/resolve", json={"outcome": "refund_buyer"},
                                     headers=market.as_platform).json()
        assert settled["status"] == "refunded"
        assert market.wallet(trade["buyer"]["user_id"]).available == 2000

    def test_a_split_without_a_buyer_amount_is_a_400(self, market):
        trade, buyer = market.paid_trade(2000)
        market.client.post(f"/v1/trades/{trade['id']}/dispute", json={"reason": "?"}, headers=buyer)
        response = market.client.post(f"/v1/trades/{trade['id']}/dispute/resolve", json={"outcome": "split"},
                                      headers=market.as_platform)
        assert response.status_code == 400 and response.json()["error"]["param"] == "buyer_amount"


class TestUnpaidTrades:
    def test_an_unpaid_trade_expires_by_itself(self, market):
        trade = market.open_trade()
        market.advance(DAY_S + 1)
        assert market.client.get(f"/v1/trades/{trade['id']}", headers=market.as_platform).json()["status"] == "closed"

    def test_the_platform_can_cancel_an_unpaid_trade_but_not_a_paid_one(self, market):
        trade = market.open_trade()
        assert market.client.post(f"/v1/trades/{trade['id']}/cancel", headers=market.as_platform).json()["status"] == "closed"
        paid, _ = market.paid_trade()
        refused = market.client.post(f"/v1/trades/{paid['id']}/cancel", headers=market.as_platform)
        assert refused.status_code == 409 and refused.json()["error"]["type"] == "conflict"

    def test_paying_with_too_little_balance_moves_nothing(self, market):
        trade = market.open_trade(5000)
        buyer = market.token_for(trade["buyer"]["user_id"])
        market.fund(trade["buyer"]["user_id"], 4999)
        response = market.client.post(f"/v1/trades/{trade['id']}/pay", json={"source": "balance"}, headers=buyer)
        assert response.status_code == 402 and response.json()["error"]["code"] == "insufficient_funds"
        assert market.wallet(trade["buyer"]["user_id"]).available == 4999
        assert market.client.get(f"/v1/trades/{trade['id']}", headers=buyer).json()["status"] == "awaiting_payment"


class TestPayingByCard:
    def _bind(self, market, buyer, number: str) -> str:
        card = market.client.post("/v1/me/cards", json={"number": number, "exp_month": 12, "exp_year": 2031, "cvc": "123",
                                                         "holder_name": "Ivan Petrov"}, headers=buyer)
        assert card.status_code == 201, card.text
        return card.json()["id"]

    def test_a_card_payment_goes_straight_to_escrow(self, market):
        trade = market.open_trade(2599)
        buyer = market.token_for(trade["buyer"]["user_id"])
        card_id = self._bind(market, buyer, "4242424242424242")
        paid = market.client.post(f"/v1/trades/{trade['id']}/pay", json={"source": card_id}, headers=buyer).json()
        assert paid["status"] == "held" and paid["payment"]["status"] == "succeeded"
        market.verify()

    def test_three_d_secure_holds_the_money_once_the_buyer_approves(self, market):
        trade = market.open_trade(2599)
        buyer = market.token_for(trade["buyer"]["user_id"])
        card_id = self._bind(market, buyer, "4000000000003220")
        pending = market.client.post(f"/v1/trades/{trade['id']}/pay", json={"source": card_id}, headers=buyer).json()
        assert pending["status"] == "awaiting_payment" and pending["payment"]["status"] == "requires_action"
        url = pending["payment"]["next_action"]["url"]
        second = market.client.post(f"/v1/trades/{trade['id']}/pay", json={"source": "balance"}, headers=buyer)
        assert second.status_code == 409 and second.json()["error"]["code"] == "payment_in_progress"
        market.client.post(url.removeprefix("http://testserver"), data={"outcome": "approve"})
        held = market.client.get(f"/v1/trades/{trade['id']}", headers=buyer).json()
        assert held["status"] == "held" and held["payment"]["status"] == "succeeded"
        market.verify()

    def test_a_declined_card_leaves_the_trade_payable(self, market):
        trade = market.open_trade(2599)
        buyer = market.token_for(trade["buyer"]["user_id"])
        card_id = self._bind(market, buyer, "4000000000000002")
        failed = market.client.post(f"/v1/trades/{trade['id']}/pay", json={"source": card_id}, headers=buyer).json()
        assert failed["status"] == "awaiting_payment"
        assert failed["payment"] == {**failed["payment"], "status": "failed", "failure_code": "card_declined"}
        market.fund(trade["buyer"]["user_id"], 2599)
        again = market.client.post(f"/v1/trades/{trade['id']}/pay", json={"source": "balance"}, headers=buyer)
        assert again.json()["status"] == "held"


class TestWhoSeesWhat:
    def test_another_platform_a_stranger_and_a_missing_trade_all_get_404(self, market, client, engine):
        trade, _ = market.paid_trade()
        other = make_market(client, engine, "Other Bazaar")
        stranger = market.token_for(other.seller["user_id"])
        for headers in (other.as_platform, stranger):
            response = client.get(f"/v1/trades/{trade['id']}", headers=headers)
            assert response.status_code == 404 and response.json()["error"]["type"] == "not_found"
        assert client.get("/v1/trades/trd_nothing", headers=market.as_platform).status_code == 404

    def test_the_seller_sees_the_trade_and_the_buyer_lists_it(self, market):
        trade, buyer = market.paid_trade()
        seller = market.token_for(market.seller["user_id"])
        assert market.client.get(f"/v1/trades/{trade['id']}", headers=seller).status_code == 200
        listed = market.client.get("/v1/trades", headers=buyer).json()
        assert [t["id"] for t in listed["data"]] == [trade["id"]]

    def test_the_platform_finds_a_trade_by_its_order_number(self, market):
        trade = market.open_trade()
        found = market.client.get("/v1/trades", params={"out_trade_no": trade["out_trade_no"]}, headers=market.as_platform)
        assert [t["id"] for t in found.json()["data"]] == [trade["id"]]


class TestOpeningATrade:
    def test_the_buyer_is_registered_by_the_first_purchase(self, market, engine):
        from amanah.core.db import run_in_transaction
        from amanah.users import service as users

        trade = market.open_trade()
        user = run_in_transaction(engine, lambda c: users.get_user(c, trade["buyer"]["user_id"]))
        assert user.email.startswith("buyer.")
        assert trade["checkout_url"].endswith(f"/checkout/{trade['id']}")

    def test_the_same_order_number_twice_returns_the_same_trade_or_a_409(self, market):
        body = {"out_trade_no": "A-1", "seller_id": market.seller["id"],
                "buyer": {"platform_user_id": "b1", "email": "b1@example.com"}, "amount": 100, "currency": "EUR",
                "subject": "Tea"}
        first = market.client.post("/v1/trades", json=body, headers=market.as_platform).json()
        again = market.client.post("/v1/trades", json=body, headers=market.as_platform).json()
        assert again["id"] == first["id"]
        other = market.client.post("/v1/trades", json={**body, "amount": 101}, headers=market.as_platform)
        assert other.status_code == 409

    def test_bad_input_is_a_clear_400(self, market):
        for change, param in (({"currency": "XYZ"}, "currency"), ({"amount": 0}, "amount"),
                              ({"seller_id": "sel_nope"}, "seller_id"), ({"protection_days": 0}, "protection_days")):
            body = {"out_trade_no": "bad", "seller_id": market.seller["id"],
                    "buyer": {"platform_user_id": "b", "email": "b@example.com"}, "amount": 100, "currency": "USD",
                    "subject": "x", **change}
            response = market.client.post("/v1/trades", json=body, headers=market.as_platform)
            assert response.status_code in (400, 404), response.text
            assert response.json()["error"]["param"] == param


class TestRefundsToTheCard:
    def _card_paid_trade(self, market, amount=3000, number="4242424242424242"):
        trade = market.open_trade(amount)
        buyer = market.token_for(trade["buyer"]["user_id"])
        card = market.client.post("/v1/me/cards", json={"number": number, "exp_month": 12, "exp_year": 2031,
                                                        "cvc": "123", "holder_name": "Ivan Petrov"}, headers=buyer).json()
        paid = market.client.post(f"/v1/trades/{trade['id']}/pay", json={"source": card["id"]}, headers=buyer).json()
        assert paid["status"] == "held"
        return paid, buyer

    def test_a_card_payment_is_refunded_to_the_card_not_the_balance(self, market):
        trade, _buyer = self._card_paid_trade(market)
        refund = market.client.post(f"/v1/trades/{trade['id']}/refunds", json={"amount": 1000, "reason": "late"},
                                    headers=market.as_platform).json()
        assert (refund["status"], refund["destination"]) == ("succeeded", "source")
        buyer_wallet = market.wallet(trade["buyer"]["user_id"])
        assert buyer_wallet.available == 0 and buyer_wallet.debits_pending == 2000
        market.verify()

    def test_a_dispute_refund_of_an_e_wallet_payment_goes_back_to_the_e_wallet(self, market):
        trade = market.open_trade(1500)
        buyer = market.token_for(trade["buyer"]["user_id"])
        pending = market.client.post(f"/v1/trades/{trade['id']}/pay", json={"source": "wallet:alphapay"}, headers=buyer).json()
        market.client.post(pending["payment"]["next_action"]["url"].removeprefix("http://testserver"), data={"outcome": "approve"})
        market.client.post(f"/v1/trades/{trade['id']}/dispute", json={"reason": "Wrong colour"}, headers=buyer)
        settled = market.client.post(f"/v1/trades/{trade['id']}/dispute/resolve", json={"outcome": "refund_buyer"},
                                     headers=market.as_platform).json()
        assert settled["status"] == "refunded"
        assert market.wallet(trade["buyer"]["user_id"]).available == 0  # it went back to the e-wallet
        market.verify()
