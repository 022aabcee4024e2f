"""Users' fixtures: fast password hashing (test mode only), a client that looks like its own
client address (so throttle counters of different tests never meet), helpers to read mail."""

from __future__ import annotations

import secrets

import pytest
import sqlalchemy as sa

from amanah.core.clock import clock
from amanah.core.config import Settings
from amanah.core.db import run_in_transaction
from amanah.mail.jobs import deliver_due
from amanah.mail.models import outbox
from amanah.operators import service as operators

GOOD_PASSWORD = "correct horse battery staple"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The suite's test settings, with nearly free Argon2 (refused outside test mode) and the
    client address taken from X-Forwarded-For (each test's client looks like its own host)."""
    return settings.model_copy(update={"password_hashing": "test", "trust_x_forwarded_for": True})


def random_address() -> str:
    return f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{secrets.randbelow(256)}"


@pytest.fixture
def client(settings, engine):
    from fastapi.testclient import TestClient

    from amanah.api.app import create_app

    with TestClient(create_app(settings), headers={"X-Forwarded-For": random_address()}) as test_client:
        yield test_client


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}.{secrets.token_hex(6)}@example.com"


@pytest.fixture
def email() -> str:
    return unique_email()


def register(client, email: str, password: str = GOOD_PASSWORD, name: str = "Test User", **extra) -> dict:
    response = client.post("/v1/users", json={"email": email, "password": password, "name": name, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def token_for(client, email: str, password: str = GOOD_PASSWORD, **extra) -> str:
    response = client.post("/v1/auth/token", json={"email": email, "password": password, **extra})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def captcha(client) -> dict:
    """A fresh captcha, solved (test mode: the answer is always "test")."""
    return {"captcha_id": client.get("/v1/captcha").json()["captcha_id"], "captcha_answer": "test"}


def queued_params(engine, to: str, template: str) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(outbox.c.params).where(outbox.c.to_address == to,
                                                             outbox.c.template == template)
                            .order_by(outbox.c.id)).all()
    return [row.params for row in rows]


def deliver_mail(engine, settings: Settings) -> None:
    while deliver_due(engine, settings, clock.now()):
        pass


@pytest.fixture
def operator_key(engine) -> str:
    _operator, secret = run_in_transaction(engine, lambda c: operators.create_key(c, label="test", now=clock.now()))
    return secret
