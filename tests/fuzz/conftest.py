"""A seeded marketplace for fuzzing: one app (test mode, in-process), a platform with a seller,
a buyer with a funded wallet and trades in several states, an operator key, sample FX rates.

Module-scoped on purpose: schemathesis runs thousands of requests against the same world, and
the world only has to exist (the fuzzer's job is to break it, not to start from scratch)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient

from amanah.api.app import create_app
from amanah.core.clock import clock
from amanah.core.config import Settings
from amanah.core.db import run_in_transaction
from amanah.fx import service as fx
from amanah.users import service as users
from tests.integration.trades.conftest import make_market

FUZZ_EXAMPLES = int(os.environ.get("AMANAH_FUZZ_EXAMPLES", "0") or 0)
"""Examples per operation and generation mode; 0 = the short CI profile (see ``examples_for``)."""


@dataclass
class World:
    app: object
    client: TestClient
    engine: object
    market: object
    buyer_id: str
    buyer_token: str
    ids: dict[str, list[str]] = field(default_factory=dict)

    @property
    def platform_headers(self) -> dict:
        return self.market.as_platform

    @property
    def operator_headers(self) -> dict:
        return self.market.as_operator

    @property
    def buyer_headers(self) -> dict:
        return {"Authorization": f"Bearer {self.buyer_token}"}

    def fresh_buyer_headers(self) -> dict:
        """A token of its own, for calls that revoke the token they are sent with (log-out)."""
        return self.market.token_for(self.buyer_id)

    def throwaway_user_headers(self) -> dict:
        user = run_in_transaction(self.engine, lambda c: users.register_automatically(
            c, f"throwaway.{secrets.token_hex(5)}@example.com", now=clock.now()))
        return self.market.token_for(user.id)

    def back_to_normal(self) -> None:
        response = self.client.put("/v1/admin/service-mode", json={"mode": "normal", "reason": "fuzz"},
                                   headers=self.operator_headers)
        assert response.status_code == 200, response.text


def fuzz_settings(database_url: str, tmp_path, vault_key_file) -> Settings:
    return Settings(env="test", database_url=database_url, data_dir=tmp_path / "data",
                    base_url="http://testserver", captcha="test", webhook_allow_private=True,
                    vault_key_file=vault_key_file, connector_timeout_s=0.05)


def build_world(settings: Settings, engine) -> tuple[World, TestClient]:
    app = create_app(settings)
    client = TestClient(app, raise_server_exceptions=False)
    client.__enter__()
    market = make_market(client, engine, name=f"Fuzz Bazaar {secrets.token_hex(3)}")
    run_in_transaction(engine, lambda c: fx.load_sample_rates(c, now=clock.now()))
    paid, buyer = market.paid_trade(2599)
    buyer_id = paid["buyer"]["user_id"]
    token = buyer["Authorization"].removeprefix("Bearer ")
    ids: dict[str, list[str]] = {"trade_id": [paid["id"]]}
    # More trades of the same buyer in other states, so that actions on known ids get past 404.
    for _ in range(3):
        trade = market.open_trade(1500, buyer={"platform_user_id": paid["buyer"]["platform_user_id"],
                                               "email": _email_of(engine, buyer_id)})
        ids["trade_id"].append(trade["id"])
    market.fund(buyer_id, 1_000_000)
    card = client.post("/v1/me/cards", json={"number": "4242424242424242", "exp_month": 12, "exp_year": 2031,
                                             "cvc": "123", "holder_name": "Fuzz Buyer"}, headers=buyer)
    assert card.status_code == 201, card.text
    ids["card_id"] = [card.json()["id"]]
    ids["seller_id"] = [market.seller["id"]]
    endpoint = client.post("/v1/webhook_endpoints", json={"url": "http://127.0.0.1:9/hook", "events": ["trade.held"]},
                           headers=market.as_platform)
    assert endpoint.status_code == 201, endpoint.text
    ids["endpoint_id"] = [endpoint.json()["id"]]
    quote = client.post("/v1/fx/quotes", json={"sell_currency": "EUR", "buy": {"amount": 1000, "currency": "USD"}})
    assert quote.status_code == 201, quote.text
    ids["quote_id"] = [quote.json()["id"]]
    return World(app, client, engine, market, buyer_id, token, ids), client


def _email_of(engine, user_id: str) -> str:
    return run_in_transaction(engine, lambda c: users.get_user(c, user_id)).email


@pytest.fixture(scope="module")
def world(database_url, engine, tmp_path_factory, vault_key_file):
    settings = fuzz_settings(database_url, tmp_path_factory.mktemp("fuzz"), vault_key_file)
    built, client = build_world(settings, engine)
    yield built
    client.__exit__(None, None, None)
