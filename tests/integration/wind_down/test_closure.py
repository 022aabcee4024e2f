"""A user closes their account: only when they hold nothing and no trade is open; cards leave
the vault, the person is forgotten, the ledger's history stays."""

from __future__ import annotations

import csv
import io

import sqlalchemy as sa

from amanah.cards.models import cards
from amanah.ledger.models import transfers
from amanah.users.models import users
from tests.integration.wind_down.conftest import PASSWORD, bind_card, register


def close(market, headers, **body):
    return market.client.post("/v1/me/close", json={"password": PASSWORD, **body}, headers=headers)


class TestClosingIsRefused:
    def test_while_money_is_on_the_balance_saying_how_much_and_what_to_do(self, market):
        user_id, headers = register(market.client)
        market.fund(user_id, 6000)
        refused = close(market, headers)
        assert refused.status_code == 409, refused.text
        error = refused.json()["error"]
        assert error["code"] == "account_not_empty" and "$60.00" in error["message"]
        assert "withdraw" in error["message"]

    def test_while_a_trade_is_open_as_buyer_or_seller(self, market):
        trade, buyer = market.paid_trade(1000)
        refused = close(market, buyer, confirm_email="x")
        assert refused.status_code in (400, 409)
        seller = market.token_for(market.seller["user_id"])
        assert "held" in market.client.post("/v1/me/close", json={"confirm_email": market.seller["email"]},
                                            headers=seller).json()["error"]["message"]

    def test_with_a_wrong_password(self, market):
        _user, headers = register(market.client)
        assert close(market, headers, password="wrong password entirely").status_code == 401


class TestClosingAnEmptyAccount:
    def test_cards_leave_the_vault_the_person_is_forgotten_and_tokens_stop_working(self, market, engine):
        user_id, headers = register(market.client)
        card = bind_card(market.client, headers)
        market.fund(user_id, 500)
        # Spend it all on a trade that completes: the ledger now names this user.
        trade = market.open_trade(500)
        closed = close(market, headers)
        assert closed.status_code == 409  # still holding $5.00
        with engine.begin() as connection:
            email = connection.execute(sa.select(users.c.email).where(users.c.id == user_id)).scalar_one()
        self._spend(market, user_id, 500)
        closed = close(market, headers)
        assert closed.status_code == 200, closed.text
        assert closed.json()["cards_deleted"] == 1
        with engine.begin() as connection:
            row = connection.execute(sa.select(users).where(users.c.id == user_id)).one()
            vaulted = connection.execute(sa.select(cards).where(cards.c.id == card["id"])).one()
            history = connection.execute(sa.select(sa.func.count()).select_from(transfers)
                                         .where(transfers.c.reference == "spent:" + user_id)).scalar_one()
        assert row.email == f"closed.{user_id}@closed.invalid" and row.name == "" and row.password_hash is None
        assert row.closed_at is not None and row.totp_secret is None
        assert vaulted.number_ciphertext is None and vaulted.wrapped_key is None and vaulted.holder_name == ""
        assert history == 1, "the ledger keeps the history"
        assert market.client.get("/v1/me", headers=headers).status_code == 401
        login = market.client.post("/v1/auth/token", json={"email": email, "password": PASSWORD})
        assert login.status_code == 401
        market.verify()
        del trade

    @staticmethod
    def _spend(market, user_id: str, amount: int) -> None:
        from amanah import ledger
        from amanah.core.clock import clock
        from amanah.core.db import run_in_transaction
        from amanah.ledger import AccountKind, TransferRequest

        def work(connection):  # as a withdrawal to a card does: wallet → payout clearing
            now = clock.now()
            wallet = ledger.open_account(connection, kind=AccountKind.USER_WALLET, owner_ref=user_id,
                                         currency="USD", now=now)
            payout = ledger.open_account(connection, kind=AccountKind.PAYOUT_CLEARING, owner_ref="sandbox_acquirer",
                                         currency="USD", now=now)
            ledger.create_transfer(connection, TransferRequest.direct(
                f"wdr_{user_id}", debit=wallet.id, credit=payout.id, amount=amount, code="withdrawal",
                reference="spent:" + user_id), now=now)

        run_in_transaction(market.engine, work)

    def test_a_buyer_with_no_password_confirms_with_the_email_and_a_new_purchase_opens_a_new_account(self, market):
        trade = market.open_trade()
        buyer = market.token_for(trade["buyer"]["user_id"])
        market.client.post(f"/v1/trades/{trade['id']}/cancel", headers=market.as_platform)
        email = market.client.get("/v1/me", headers=buyer).json()["email"]
        wrong = market.client.post("/v1/me/close", json={"confirm_email": "other@example.com"}, headers=buyer)
        assert wrong.status_code == 400
        closed = market.client.post("/v1/me/close", json={"confirm_email": email.upper()}, headers=buyer)
        assert closed.status_code == 200, closed.text
        again = market.client.post("/v1/trades", headers=market.as_platform, json={
            "out_trade_no": f"again-{trade['id']}", "seller_id": market.seller["id"], "amount": 100,
            "currency": "USD", "subject": "Cup", "buyer": {"platform_user_id": trade["buyer"]["platform_user_id"],
                                                           "email": email}})
        assert again.status_code == 201, again.text
        assert again.json()["buyer"]["user_id"] != trade["buyer"]["user_id"]


class TestTheExport:
    def test_json_and_csv_hold_profile_cards_balances_and_trades(self, market):
        trade, buyer = market.paid_trade(1234, subject="=HYPERLINK(\"x\")")
        market.client.post("/v1/me/cards", json={"number": "5555 5555 5555 4444", "exp_month": 1, "exp_year": 2032,
                                                 "cvc": "123", "holder_name": "Budi"}, headers=buyer)
        data = market.client.get("/v1/me/export.json", headers=buyer).json()
        assert data["profile"]["id"] == trade["buyer"]["user_id"]
        assert [(c["brand"], c["last4"]) for c in data["cards"]] == [("mastercard", "4444")]
        assert {"currency": "USD", "available": 0, "held": 1234} in data["balances"]
        assert [(t["id"], t["role"], t["status"]) for t in data["trades"]] == [(trade["id"], "buyer", "held")]
        response = market.client.get("/v1/me/export.csv", headers=buyer)
        assert response.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert {row["section"] for row in rows} == {"profile", "card", "balance", "trade"}
        trade_row = next(row for row in rows if row["section"] == "trade")
        assert trade_row["name"].startswith("'=")  # never run as a formula
