"""Argon2 parameters change: the stored hash is upgraded at the next successful log-in."""

from __future__ import annotations

import sqlalchemy as sa
from argon2 import extract_parameters

from amanah.core.db import run_in_transaction
from amanah.users import service as users
from amanah.users.models import users as users_table
from tests.integration.users.conftest import GOOD_PASSWORD, random_address, unique_email


def stored_hash(engine, user_id: str) -> str:
    with engine.connect() as conn:
        return conn.execute(sa.select(users_table.c.password_hash).where(users_table.c.id == user_id)).scalar_one()


class TestRehashingOnLogIn:
    def test_a_hash_made_with_old_parameters_is_replaced_by_an_owasp_one(self, engine, settings, now):
        email = unique_email()
        user = run_in_transaction(engine, lambda conn: users.register_user(
            conn, settings, email=email, password=GOOD_PASSWORD, name="", now=now))
        assert extract_parameters(stored_hash(engine, user.id)).memory_cost < 19456
        production_cost = settings.model_copy(update={"password_hashing": "owasp"})
        outcome = run_in_transaction(engine, lambda conn: users.log_in(
            conn, production_cost, email=email, password=GOOD_PASSWORD, client_address=random_address(), now=now))
        assert outcome.error is None
        upgraded = extract_parameters(stored_hash(engine, user.id))
        assert (upgraded.memory_cost, upgraded.time_cost, upgraded.parallelism) == (19456, 2, 1)
        again = run_in_transaction(engine, lambda conn: users.log_in(
            conn, production_cost, email=email, password=GOOD_PASSWORD, client_address=random_address(), now=now))
        assert again.error is None and stored_hash(engine, user.id).startswith("$argon2id$v=19$m=19456,t=2,p=1$")

    def test_a_failed_log_in_leaves_the_hash_alone(self, engine, settings, now):
        email = unique_email()
        user = run_in_transaction(engine, lambda conn: users.register_user(
            conn, settings, email=email, password=GOOD_PASSWORD, name="", now=now))
        before = stored_hash(engine, user.id)
        production_cost = settings.model_copy(update={"password_hashing": "owasp"})
        run_in_transaction(engine, lambda conn: users.log_in(
            conn, production_cost, email=email, password="wrong password", client_address=random_address(), now=now))
        assert stored_hash(engine, user.id) == before
