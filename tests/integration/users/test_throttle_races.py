"""The log-in throttle's counters under real parallel requests (PostgreSQL): twenty wrong
passwords at one account at the same instant are judged exactly as twenty in a row would be —
``LOGIN_FAILURES_BEFORE_CAPTCHA`` of them checked, the rest refused, the count exact (issue 27:
it was 6 checked, not 3)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from amanah.core import limits
from amanah.users.models import login_throttles
from amanah.users.service import throttle
from tests.integration.users.conftest import random_address, register
from tests.integration.users.test_totp_once import at_once

pytestmark = pytest.mark.postgres_only

PARALLEL = 20


def account_failures(engine, email: str) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(login_throttles.c.failures).where(
            login_throttles.c.key == throttle.keys_for(email, "").account)).scalar_one()


def test_twenty_wrong_passwords_at_once_are_counted_exactly(client, engine, email):
    register(client, email)
    answers = at_once(lambda i: client.post("/v1/auth/token", json={"email": email, "password": f"wrong {i}"},
                                            headers={"X-Forwarded-For": random_address()}), PARALLEL)
    statuses = sorted(response.status_code for response in answers)
    judged = limits.LOGIN_FAILURES_BEFORE_CAPTCHA
    assert statuses == [401] * judged + [429] * (PARALLEL - judged), statuses
    assert account_failures(engine, email) == judged


def test_twenty_wrong_passwords_at_once_from_one_address_at_one_account_count_once_for_the_address(
        client, engine, email):
    register(client, email)
    address = random_address()
    at_once(lambda i: client.post("/v1/auth/token", json={"email": email, "password": f"wrong {i}"},
                                  headers={"X-Forwarded-For": address}), PARALLEL)
    with engine.connect() as conn:
        spread = conn.execute(sa.select(login_throttles.c.failures).where(
            login_throttles.c.key == throttle.keys_for(email, address).address)).scalar_one()
    assert spread == 1  # one account failed from there, however many times
