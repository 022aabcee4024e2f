"""A marketplace for trade tests: a platform with its key, a seller, buyers with tokens, and a
way to put money on a buyer's balance (as a top-up does: card clearing → wallet)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import pytest

from amanah import ledger
from amanah.core.clock import clock
from amanah.core.db import run_in_transaction
from amanah.ledger import AccountKind, TransferRequest
from amanah.operators import service as operators
from amanah.platforms import service as platforms
from amanah.users import service as users


@dataclass
class Market:
    client: object
    engine: object
    platform_id: str
    platform_key: str
    seller: dict
    operator_key: str

    @property
    def as_platform(self) -> dict:
        return {"Authorization": f"Bearer {self.platform_key}"}

    @property
    def as_operator(self) -> dict:
        return {"Authorization": f"Bearer {self.operator_key}"}

    def token_for(self, user_id: str) -> dict:
        token = run_in_transaction(self.engine, lambda c: users.issue_access_token(c, user_id, now=clock.now()))
        return {"Authorization": f"Bearer {token.access_token}"}

    def open_trade(self, amount: int = 2599, currency: str = "USD", **extra) -> dict:
        body = {"out_trade_no": f"order-{secrets.token_hex(6)}", "seller_id": self.seller["id"],
                "buyer": {"platform_user_id": f"buyer-{secrets.token_hex(4)}",
                          "email": f"buyer.{secrets.token_hex(6)}@example.com"},
                "amount": amount, "currency": currency, "subject": "Blue teapot", **extra}
        response = self.client.post("/v1/trades", json=body, headers=self.as_platform)
        assert response.status_code == 201, response.text
        return response.json()

    def fund(self, user_id: str, amount: int, currency: str = "USD") -> None:
        def work(connection):
            now = clock.now()
            clearing = ledger.open_account(connection, kind=AccountKind.CARD_CLEARING, owner_ref="sandbox_acquirer",
                                           currency=currency, now=now)
            wallet = ledger.open_account(connection, kind=AccountKind.USER_WALLET, owner_ref=user_id,
                                         currency=currency, now=now)
            ledger.create_transfer(connection, TransferRequest.direct(
                f"fund_{secrets.token_hex(8)}", debit=clearing.id, credit=wallet.id, amount=amount,
                code="topup"), now=now)

        run_in_transaction(self.engine, work)

    def wallet(self, user_id: str, currency: str = "USD") -> ledger.Account:
        return run_in_transaction(self.engine, lambda c: ledger.open_account(
            c, kind=AccountKind.USER_WALLET, owner_ref=user_id, currency=currency, now=clock.now()))

    def fees(self, currency: str = "USD") -> ledger.Account:
        return run_in_transaction(self.engine, lambda c: ledger.open_account(
            c, kind=AccountKind.PLATFORM_FEES, owner_ref=self.platform_id, currency=currency, now=clock.now()))

    def paid_trade(self, amount: int = 2599, **extra) -> tuple[dict, dict]:
        """A trade its buyer has paid from the balance: (trade, buyer's headers)."""
        trade = self.open_trade(amount, **extra)
        buyer = self.token_for(trade["buyer"]["user_id"])
        self.fund(trade["buyer"]["user_id"], amount)
        paid = self.client.post(f"/v1/trades/{trade['id']}/pay", json={"source": "balance"}, headers=buyer)
        assert paid.status_code == 200, paid.text
        return paid.json(), buyer

    def advance(self, seconds: int) -> dict:
        response = self.client.post("/v1/test/clock/advance", json={"seconds": seconds}, headers=self.as_operator)
        assert response.status_code == 200, response.text
        return response.json()

    def verify(self) -> None:
        report = run_in_transaction(self.engine, ledger.verify)
        assert report.ok, report.violations


def make_market(client, engine, name: str = "Teapot Bazaar") -> Market:
    def work(connection):
        now = clock.now()
        platform, key = platforms.create_platform(connection, name=name, now=now)
        _operator, operator_key = operators.create_key(connection, label="test", now=now)
        return platform.id, key, operator_key

    platform_id, key, operator_key = run_in_transaction(engine, work)
    seller = client.post("/v1/sellers", json={"platform_seller_id": f"s-{secrets.token_hex(4)}",
                                              "email": f"seller.{secrets.token_hex(6)}@example.com",
                                              "name": "Teapot Workshop"},
                         headers={"Authorization": f"Bearer {key}"})
    assert seller.status_code == 201, seller.text
    return Market(client, engine, platform_id, key, seller.json(), operator_key)


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"connector_timeout_s": 0.05})


@pytest.fixture
def market(client, engine) -> Market:
    return make_market(client, engine)
