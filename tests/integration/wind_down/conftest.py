"""Wind-down fixtures: the trades' marketplace, users with passwords, and a switch that puts
the service back to normal after each test (the session shares one database)."""

from __future__ import annotations

import secrets

import pytest

from amanah.core import service_mode
from amanah.core.clock import clock
from amanah.core.db import run_in_transaction
from tests.integration.trades.conftest import Market, make_market

PASSWORD = "correct horse battery staple"
CARD = {"number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2031, "cvc": "987",
        "holder_name": "Dewi Lestari"}


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"connector_timeout_s": 0.05, "password_hashing": "test",
                                       "trust_x_forwarded_for": True})


@pytest.fixture
def client(settings, engine):
    from fastapi.testclient import TestClient

    from amanah.api.app import create_app

    address = f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{secrets.randbelow(256)}"
    with TestClient(create_app(settings), headers={"X-Forwarded-For": address}) as test_client:
        yield test_client


def set_mode(engine, mode: str) -> None:
    run_in_transaction(engine, lambda c: service_mode.set_mode(c, mode, changed_by="test", now=clock.now()))


@pytest.fixture
def market(client, engine):
    yield make_market(client, engine)
    set_mode(engine, "normal")


@pytest.fixture
def wind_down(market: Market):
    """Switches to wind_down through the admin API (the market fixture switches back)."""

    def switch(reason: str = "closing") -> dict:
        response = market.client.put("/v1/admin/service-mode", json={"mode": "wind_down", "reason": reason},
                                     headers=market.as_operator)
        assert response.status_code == 200, response.text
        return response.json()

    return switch


def register(client, email: str | None = None) -> tuple[str, dict]:
    """A directly registered user with a password: (user id, token headers)."""
    email = email or f"user.{secrets.token_hex(6)}@example.com"
    created = client.post("/v1/users", json={"email": email, "password": PASSWORD, "name": "Dewi Lestari"})
    assert created.status_code == 201, created.text
    token = client.post("/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert token.status_code == 200, token.text
    return created.json()["id"], {"Authorization": f"Bearer {token.json()['access_token']}"}


def bind_card(client, headers: dict) -> dict:
    response = client.post("/v1/me/cards", json=CARD, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()
