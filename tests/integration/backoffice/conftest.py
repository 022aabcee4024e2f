"""Back-office fixtures: operator accounts made as ``amanah operators create`` makes them, the
TOTP code of the app's (test) clock, and a browser-like client signed in to the back office.

Each client looks like a host of its own (X-Forwarded-For, trusted here), so the log-in
throttle's per-address counters of different tests never meet."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

import pyotp
import pytest
import sqlalchemy as sa

from amanah.backoffice import actions
from amanah.core.clock import clock
from amanah.core.db import run_in_transaction
from amanah.operators import service as operators
from amanah.operators.audit import Actor, AuditContext
from amanah.operators.models import operator_audit_log

PASSWORD = "operators keep the lights on 42"
CLI = AuditContext(Actor.cli("pytest"))


# The users' fixtures: nearly free Argon2, and a client that looks like a host of its own.
from tests.integration.users.conftest import client, random_address, settings  # noqa: E402, F401


@dataclass
class OperatorLogin:
    id: str
    email: str
    password: str
    totp_secret: str

    def code(self, steps_ahead: int = 0) -> str:
        """The authenticator app's code at the server's clock (``steps_ahead`` 30-s steps on)."""
        return pyotp.TOTP(self.totp_secret).at(clock.now() + timedelta(seconds=30 * steps_ahead))

    def form(self, steps_ahead: int = 0, **changes) -> dict:
        return {"email": self.email, "password": self.password, "totp_code": self.code(steps_ahead), **changes}


def create_operator(engine, settings, *, own_password: bool = True) -> OperatorLogin:
    """A new operator account; with ``own_password`` the one-time password is already replaced."""
    email = f"operator.{secrets.token_hex(5)}@example.com"
    made = run_in_transaction(engine, lambda c: actions.create_operator(c, CLI, settings, email=email,
                                                                        now=clock.now()))
    password = made.one_time_password
    if own_password:
        run_in_transaction(engine, lambda c: operators.change_password(
            c, settings, made.account.id, current_password=made.one_time_password, new_password=PASSWORD,
            now=clock.now()))
        password = PASSWORD
    return OperatorLogin(made.account.id, email, password, made.totp_secret)


@pytest.fixture
def operator(engine, settings) -> OperatorLogin:
    return create_operator(engine, settings)


def log_in(client, login: OperatorLogin, steps_ahead: int = 0, **changes):
    return client.post("/backoffice/login", data=login.form(steps_ahead, **changes), follow_redirects=False)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


@dataclass
class Desk:
    """A client signed in to the back office as ``login``."""

    client: object
    login: OperatorLogin

    @property
    def csrf(self) -> str:
        return csrf_of(self.client.get("/backoffice").text)

    def post(self, path: str, data: dict | None = None, **extra):
        return self.client.post(path, data={"csrf_token": self.csrf, **(data or {})}, follow_redirects=False,
                                **extra)


@pytest.fixture
def desk(client, operator) -> Desk:
    response = log_in(client, operator)
    assert response.status_code == 303, response.text
    return Desk(client, operator)


def audit_rows(engine, **where) -> list:
    """The audit log's rows matching ``where`` (column=value), oldest first."""
    with engine.connect() as connection:
        return connection.execute(sa.select(operator_audit_log).where(
            *[operator_audit_log.c[key] == value for key, value in where.items()])
            .order_by(operator_audit_log.c.seq)).all()
