"""Wallet tests: the trades' marketplace (platform, seller, buyers with tokens), plus cards,
top-ups, withdrawals and history read through the API as the cabinet reads them."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.conftest import user_with_token
from tests.integration.trades.conftest import Market, make_market

SMALL_LIMITS_CURRENCY = "EUR"
"""Withdrawal limits are tiny in euros for these tests (1000 a time, 1500 a day): the limit
tests use euros, every other test dollars."""


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={
        "connector_timeout_s": 0.05,
        "withdrawal_per_transaction_max": {SMALL_LIMITS_CURRENCY: 1000},
        "withdrawal_daily_max": {SMALL_LIMITS_CURRENCY: 1500},
    })


@dataclass
class Person:
    market: Market
    id: str
    headers: dict

    @property
    def client(self):
        return self.market.client

    def bind(self, number: str = "4242424242424242") -> str:
        response = self.client.post("/v1/me/cards", headers=self.headers, json={
            "number": number, "exp_month": 12, "exp_year": 2031, "cvc": "123", "holder_name": "Siti Rahma"})
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def topup(self, amount: int, currency: str = "USD", **body):
        return self.client.post("/v1/me/topups", headers=self.headers, json={"amount": amount, "currency": currency, **body})

    def withdraw(self, amount: int, card_id: str, currency: str = "USD"):
        return self.client.post("/v1/me/withdrawals", headers=self.headers,
                                json={"amount": amount, "currency": currency, "card_id": card_id})

    def balance(self, currency: str = "USD") -> dict:
        data = self.client.get("/v1/me/balances", headers=self.headers).json()["data"]
        return next((b for b in data if b["currency"] == currency), {"currency": currency, "available": 0, "held": 0})

    def history(self, **params) -> dict:
        response = self.client.get("/v1/me/history", headers=self.headers, params=params)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def market(client, engine) -> Market:
    return make_market(client, engine)


@pytest.fixture
def make_person(market):
    def make() -> Person:
        user_id, token = user_with_token(market.engine, "wallet")
        return Person(market, user_id, {"Authorization": f"Bearer {token}"})

    return make


@pytest.fixture
def person(make_person) -> Person:
    return make_person()
