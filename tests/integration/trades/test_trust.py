"""Issue 27: a marketplace is a guest. A hostile platform that names someone else's e-mail as its
seller, takes a 100% fee and refunds after completion must not touch that person's money; every
scenario over HTTP, with the victim's balance checked after."""

from __future__ import annotations

import secrets

import sqlalchemy as sa

from amanah import ledger
from amanah.core.clock import clock
from amanah.core.db import run_in_transaction
from amanah.ledger import AccountKind, TransferRequest
from amanah.mail.models import outbox

from .conftest import Market, make_market


def _email(prefix: str) -> str:
    return f"{prefix}.{secrets.token_hex(6)}@example.com"


def register_person(market: Market, email: str | None = None) -> tuple[dict, dict]:
    """Someone who opened an Amanah account of their own: (user, their headers)."""
    email = email or _email("victim")
    response = market.client.post("/v1/users", json={"email": email, "password": "correct horse battery staple",
                                                     "name": "Victim Person"})
    assert response.status_code == 201, response.text
    return response.json(), market.token_for(response.json()["id"])


def register_seller(market: Market, email: str, platform_seller_id: str | None = None):
    return market.client.post("/v1/sellers", headers=market.as_platform, json={
        "platform_seller_id": platform_seller_id or f"s-{secrets.token_hex(4)}", "email": email, "name": "My shop"})


def open_trade(market: Market, seller_id: str, amount: int = 10_000, **extra):
    return market.client.post("/v1/trades", headers=market.as_platform, json={
        "out_trade_no": f"o-{secrets.token_hex(6)}", "seller_id": seller_id,
        "buyer": {"platform_user_id": f"b-{secrets.token_hex(4)}", "email": _email("buyer")},
        "amount": amount, "currency": "USD", "subject": "Nothing at all", **extra})


def pay_and_confirm(market: Market, trade: dict) -> dict:
    buyer = market.token_for(trade["buyer"]["user_id"])
    market.fund(trade["buyer"]["user_id"], trade["amount"])
    paid = market.client.post(f"/v1/trades/{trade['id']}/pay", json={"source": "balance"}, headers=buyer)
    assert paid.status_code == 200, paid.text
    done = market.client.post(f"/v1/trades/{trade['id']}/confirm", headers=buyer)
    assert done.status_code == 200, done.text
    return done.json()


def accept(market: Market, person: dict, seller_id: str):
    return market.client.post(f"/v1/me/seller-links/{seller_id}/accept", headers=person)


def set_fee_limit(market: Market, bps_max: int):
    response = market.client.put(f"/v1/admin/platforms/{market.platform_id}/fee-limit", json={"bps_max": bps_max},
                                 headers=market.as_operator)
    assert response.status_code == 200, response.text
    return response.json()


def mails_to(market: Market, address: str) -> list:
    with market.engine.connect() as connection:
        return connection.execute(sa.select(outbox.c.template).where(outbox.c.to_address == address)).scalars().all()


def spend(market: Market, user_id: str, amount: int) -> None:
    """Money leaving the person's balance for the outside world (as a paid withdrawal does)."""
    def work(connection):
        now = clock.now()
        wallet = ledger.open_account(connection, kind=AccountKind.USER_WALLET, owner_ref=user_id, currency="USD", now=now)
        clearing = ledger.open_account(connection, kind=AccountKind.CARD_CLEARING, owner_ref="sandbox_acquirer",
                                       currency="USD", now=now)
        ledger.create_transfer(connection, TransferRequest.direct(
            f"spent_{secrets.token_hex(8)}", debit=wallet.id, credit=clearing.id, amount=amount, code="withdrawal_paid"),
            now=now)

    run_in_transaction(market.engine, work)


class TestTheIssuesAttack:
    """Platform B names the victim's e-mail as its seller, opens a 100% fee trade with a buyer it
    controls and refunds it after completion."""

    def test_the_seller_link_is_pending_and_the_trade_is_refused(self, client, engine):
        market = make_market(client, engine, name="Platform B")
        victim, _ = register_person(market)
        market.fund(victim["id"], 10_000)
        seller = register_seller(market, victim["email"])
        assert seller.status_code == 201, seller.text
        assert seller.json()["status"] == "pending" and seller.json()["user_id"] == victim["id"]
        refused = open_trade(market, seller.json()["id"], fee={"bps": 10_000})
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"] == {**refused.json()["error"], "type": "conflict", "code": "seller_not_active"}
        assert market.wallet(victim["id"]).available == 10_000
        market.verify()

    def test_a_fee_above_the_platforms_limit_is_refused(self, client, engine):
        market = make_market(client, engine, name="Platform B")
        for fee in ({"bps": 3001}, {"bps": 10_000}, {"amount": 3001}, {"amount": 10_000}):
            refused = open_trade(market, market.seller["id"], fee=fee)
            assert refused.status_code == 400, (fee, refused.text)
            assert refused.json()["error"]["code"] == "fee_too_high" and refused.json()["error"]["param"] == "fee"
        assert open_trade(market, market.seller["id"], fee={"bps": 3000}).status_code == 201
        assert open_trade(market, market.seller["id"], fee={"amount": 3000}).status_code == 201

    def test_even_an_accepted_link_gives_back_at_most_what_the_trade_paid_the_seller(self, client, engine):
        market = make_market(client, engine, name="Platform B")
        victim, victim_headers = register_person(market)
        market.fund(victim["id"], 10_000)
        seller = register_seller(market, victim["email"]).json()
        assert accept(market, victim_headers, seller["id"]).json()["status"] == "active"
        set_fee_limit(market, 10_000)  # a careless operator
        trade = open_trade(market, seller["id"], fee={"bps": 10_000}).json()
        done = pay_and_confirm(market, trade)
        assert done["fee_amount"] == 10_000
        assert market.wallet(victim["id"]).available == 10_000  # the trade paid the seller nothing
        refund = market.client.post(f"/v1/trades/{trade['id']}/refunds", json={"amount": 10_000},
                                    headers=market.as_platform)
        assert refund.status_code == 201, refund.text
        assert refund.json()["seller_amount"] == 0 and refund.json()["fee_refund_amount"] == 10_000
        assert market.wallet(victim["id"]).available == 10_000
        assert market.wallet(trade["buyer"]["user_id"]).available == 10_000
        assert market.fees().credits_posted - market.fees().debits_posted == 0
        market.verify()


class TestRefundsAfterCompletion:
    def test_the_seller_and_the_platform_give_back_their_shares(self, client, engine):
        market = make_market(client, engine)
        seller_user = market.seller["user_id"]
        market.fund(seller_user, 5_000)  # the seller's money from elsewhere
        trade = open_trade(market, market.seller["id"], amount=10_000, fee={"bps": 3000}).json()
        pay_and_confirm(market, trade)
        assert market.wallet(seller_user).available == 5_000 + 7_000
        parts = []
        for amount in (3333, 3333, 3334):
            refund = market.client.post(f"/v1/trades/{trade['id']}/refunds", json={"amount": amount},
                                        headers=market.as_platform)
            assert refund.status_code == 201, refund.text
            parts.append((refund.json()["seller_amount"], refund.json()["fee_refund_amount"]))
            assert sum(parts[-1]) == amount
        assert sum(s for s, _ in parts) == 7_000 and sum(f for _, f in parts) == 3_000
        assert market.wallet(seller_user).available == 5_000  # the seller's own money is untouched
        assert market.wallet(trade["buyer"]["user_id"]).available == 10_000
        assert market.fees().credits_posted - market.fees().debits_posted == 0
        more = market.client.post(f"/v1/trades/{trade['id']}/refunds", json={"amount": 1}, headers=market.as_platform)
        assert more.status_code == 409, more.text  # refunded in full: nothing is left to refund
        market.verify()

    def test_a_partial_refund_before_completion_bounds_what_comes_back_after(self, client, engine):
        market = make_market(client, engine)
        trade = open_trade(market, market.seller["id"], amount=10_000, fee={"bps": 1000}).json()
        buyer = market.token_for(trade["buyer"]["user_id"])
        market.fund(trade["buyer"]["user_id"], 10_000)
        market.client.post(f"/v1/trades/{trade['id']}/pay", json={"source": "balance"}, headers=buyer)
        market.client.post(f"/v1/trades/{trade['id']}/refunds", json={"amount": 4_000}, headers=market.as_platform)
        done = market.client.post(f"/v1/trades/{trade['id']}/confirm", headers=buyer).json()
        assert done["fee_amount"] == 600  # 10% of the 6,000 released
        refund = market.client.post(f"/v1/trades/{trade['id']}/refunds", json={"amount": 6_000},
                                    headers=market.as_platform).json()
        assert (refund["seller_amount"], refund["fee_refund_amount"]) == (5_400, 600)
        assert market.wallet(market.seller["user_id"]).available == 0
        assert refund["trade"]["status"] == "refunded"
        market.verify()

    def test_a_seller_short_of_balance_is_refused_and_nothing_moves(self, client, engine):
        market = make_market(client, engine)
        seller_user = market.seller["user_id"]
        trade = open_trade(market, market.seller["id"], amount=1_000, fee={"bps": 1000}).json()
        pay_and_confirm(market, trade)
        spend(market, seller_user, 500)  # the seller withdrew part of it
        refused = market.client.post(f"/v1/trades/{trade['id']}/refunds", json={"amount": 1_000},
                                     headers=market.as_platform)
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "seller_balance_insufficient"
        assert market.wallet(seller_user).available == 400
        assert market.fees().credits_posted - market.fees().debits_posted == 100
        assert market.wallet(trade["buyer"]["user_id"]).available == 0
        after = market.client.get(f"/v1/trades/{trade['id']}", headers=market.as_platform).json()
        assert after["refunded_amount"] == 0 and after["status"] == "completed"
        market.verify()

    def test_the_history_of_buyer_and_seller_shows_it(self, client, engine):
        market = make_market(client, engine)
        trade = open_trade(market, market.seller["id"], amount=2_000, fee={"bps": 2500}).json()
        pay_and_confirm(market, trade)
        market.client.post(f"/v1/trades/{trade['id']}/refunds", json={"amount": 2_000}, headers=market.as_platform)
        buyer = market.token_for(trade["buyer"]["user_id"])
        seller = market.token_for(market.seller["user_id"])
        buyer_lines = market.client.get("/v1/me/history?type=refund", headers=buyer).json()["data"]
        assert sorted(line["amount"] for line in buyer_lines) == [500, 1_500]
        assert all(line["trade_id"] == trade["id"] for line in buyer_lines)
        seller_lines = market.client.get("/v1/me/history?type=refund", headers=seller).json()["data"]
        assert [line["amount"] for line in seller_lines] == [-1_500]


class TestSellerConsent:
    def test_a_new_email_makes_an_active_seller_with_a_new_account(self, market):
        email = _email("newseller")
        seller = register_seller(market, email)
        assert seller.status_code == 201 and seller.json()["status"] == "active"
        assert "invitation" in mails_to(market, email)

    def test_the_person_is_asked_by_email_and_in_the_account(self, client, engine):
        market = make_market(client, engine, name="Bazaar Asks")
        person, headers = register_person(market)
        seller = register_seller(market, person["email"]).json()
        assert "seller_request" in mails_to(market, person["email"])
        links = market.client.get("/v1/me/seller-links", headers=headers)
        assert links.status_code == 200
        assert links.json()["data"] == [{"seller_id": seller["id"], "platform": "Bazaar Asks", "name": "My shop",
                                         "status": "pending"}]

    def test_accepting_activates_the_link_and_tells_the_platform(self, client, engine):
        market = make_market(client, engine)
        endpoint = market.client.post("/v1/webhook_endpoints", headers=market.as_platform,
                                      json={"url": "http://127.0.0.1:9/hook", "events": ["seller.activated"]})
        assert endpoint.status_code == 201, endpoint.text
        person, headers = register_person(market)
        seller = register_seller(market, person["email"]).json()
        accepted = accept(market, headers, seller["id"])
        assert accepted.status_code == 200 and accepted.json()["status"] == "active"
        assert market.client.get(f"/v1/sellers/{seller['id']}", headers=market.as_platform).json()["status"] == "active"
        assert open_trade(market, seller["id"]).status_code == 201
        from amanah.platforms.webhooks.models import events

        with engine.connect() as connection:
            types = connection.execute(sa.select(events.c.type).where(events.c.subject_id == seller["id"])).scalars().all()
        assert types == ["seller.activated"]

    def test_a_declined_seller_stays_declined_and_is_not_asked_again(self, client, engine):
        market = make_market(client, engine)
        person, headers = register_person(market)
        seller = register_seller(market, person["email"], "shop-1").json()
        declined = market.client.post(f"/v1/me/seller-links/{seller['id']}/decline", headers=headers)
        assert declined.status_code == 200 and declined.json()["status"] == "declined"
        again = register_seller(market, person["email"], "shop-1")
        assert again.json()["id"] == seller["id"] and again.json()["status"] == "declined"
        other_id = register_seller(market, person["email"], "shop-2")
        assert other_id.status_code == 409 and other_id.json()["error"]["code"] == "seller_declined"
        assert mails_to(market, person["email"]).count("seller_request") == 1
        refused = open_trade(market, seller["id"])
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "seller_not_active"

    def test_registering_again_returns_the_same_seller_without_a_second_mail(self, client, engine):
        market = make_market(client, engine)
        person, _ = register_person(market)
        first = register_seller(market, person["email"], "shop-x").json()
        again = register_seller(market, person["email"], "shop-x").json()
        assert again["id"] == first["id"] and again["status"] == "pending"
        assert mails_to(market, person["email"]).count("seller_request") == 1

    def test_another_users_link_is_not_found(self, client, engine):
        market = make_market(client, engine)
        person, _ = register_person(market)
        _, stranger = register_person(market)
        seller = register_seller(market, person["email"]).json()
        for action in ("accept", "decline"):
            response = market.client.post(f"/v1/me/seller-links/{seller['id']}/{action}", headers=stranger)
            assert response.status_code == 404, response.text
        assert market.client.get(f"/v1/sellers/{seller['id']}", headers=market.as_platform).json()["status"] == "pending"

    def test_the_email_of_a_closed_account_opens_a_new_account(self, client, engine):
        market = make_market(client, engine)
        person, headers = register_person(market)
        closed = market.client.post("/v1/me/close", headers=headers,
                                    json={"password": "correct horse battery staple"})
        assert closed.status_code in (200, 202), closed.text
        seller = register_seller(market, person["email"])
        assert seller.status_code == 201 and seller.json()["status"] == "active"
        assert seller.json()["user_id"] != person["id"]
