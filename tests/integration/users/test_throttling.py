"""Brute force: failed log-ins slow down, then ask for a captcha, per account and per address,
without locking the real user out."""

from __future__ import annotations

from datetime import timedelta

import pytest

from amanah.core import limits
from amanah.core.db import run_in_transaction
from amanah.users import service as users
from amanah.users.service import captcha as captchas
from amanah.users.service import throttle
from tests.integration.users.conftest import GOOD_PASSWORD, captcha, random_address, register, unique_email


@pytest.fixture
def account(engine, settings, now) -> str:
    email = unique_email()
    run_in_transaction(engine, lambda conn: users.register_user(
        conn, settings, email=email, password=GOOD_PASSWORD, name="", now=now))
    return email


def attempt(engine, settings, email, password, address, now, *, solve_captcha=False, **extra):
    def work(conn):
        if solve_captcha:
            made = captchas.create_captcha(conn, settings, now=now)
            extra.update(captcha_id=made.captcha_id, captcha_answer="test")
        return users.log_in(conn, settings, email=email, password=password, client_address=address, now=now, **extra)

    return run_in_transaction(engine, work)


def code(outcome) -> str:
    return "ok" if outcome.error is None else outcome.error.code


class TestFailedLogInsSlowDown:
    def test_after_a_few_failures_the_next_attempt_must_wait_a_doubling_delay(self, engine, settings, account, now):
        address = random_address()
        for _ in range(limits.LOGIN_FAILURES_BEFORE_DELAY + 2):
            assert code(attempt(engine, settings, account, "wrong", address, now, solve_captcha=True)) in (
                "invalid_credentials", "too_many_attempts")
            now += timedelta(seconds=0.5)
        refused = attempt(engine, settings, account, GOOD_PASSWORD, address, now, solve_captcha=True)
        assert code(refused) == "too_many_attempts" and refused.error.http_status == 429

    def test_the_delay_is_never_longer_than_fifteen_minutes(self, engine, settings, account, now):
        address = random_address()
        for _ in range(12):
            attempt(engine, settings, account, "wrong", address, now, solve_captcha=True)
            now += timedelta(seconds=limits.LOGIN_DELAY_MAX_S)  # waits out each delay
        later = now + timedelta(seconds=limits.LOGIN_DELAY_MAX_S)
        assert code(attempt(engine, settings, account, GOOD_PASSWORD, address, later, solve_captcha=True)) == "ok"


class TestACaptchaIsRequiredAfterAFewFailures:
    def test_without_a_captcha_the_attempt_is_refused_and_with_one_it_is_judged(self, engine, settings, account, now):
        address = random_address()
        for _ in range(limits.LOGIN_FAILURES_BEFORE_CAPTCHA):
            attempt(engine, settings, account, "wrong", address, now)
        now += timedelta(seconds=limits.LOGIN_DELAY_FIRST_S)
        assert code(attempt(engine, settings, account, GOOD_PASSWORD, address, now)) == "captcha_required"
        assert code(attempt(engine, settings, account, GOOD_PASSWORD, address, now, solve_captcha=True)) == "ok"

    def test_a_wrong_captcha_answer_is_a_400(self, engine, settings, account, now):
        def work(conn):
            made = captchas.create_captcha(conn, settings, now=now)
            return users.log_in(conn, settings, email=account, password=GOOD_PASSWORD, client_address="192.0.2.1",
                                captcha_id=made.captcha_id, captcha_answer="nope", now=now)

        refused = run_in_transaction(engine, work)
        assert code(refused) == "captcha_invalid" and refused.error.http_status == 400


class TestTheOwnerIsNotLockedOut:
    def test_an_attack_from_elsewhere_does_not_stop_the_owner_who_solves_a_captcha(self, engine, settings, account, now):
        attacker = random_address()
        for _ in range(10):
            attempt(engine, settings, account, "guess", attacker, now, solve_captcha=True)
            now += timedelta(seconds=1)
        assert code(attempt(engine, settings, account, "guess", attacker, now, solve_captcha=True)) == "too_many_attempts"
        owner = random_address()
        assert code(attempt(engine, settings, account, GOOD_PASSWORD, owner, now)) == "too_many_attempts"
        assert code(attempt(engine, settings, account, GOOD_PASSWORD, owner, now, solve_captcha=True)) == "ok"

    def test_failures_are_forgotten_after_a_day(self, engine, settings, account, now):
        address = random_address()
        for _ in range(6):
            attempt(engine, settings, account, "wrong", address, now, solve_captcha=True)
        tomorrow = now + timedelta(seconds=limits.LOGIN_FAILURES_FORGOTTEN_AFTER_S + 1)
        assert code(attempt(engine, settings, account, GOOD_PASSWORD, address, tomorrow)) == "ok"

    def test_a_success_clears_the_accounts_counter(self, engine, settings, account, now):
        for _ in range(2):
            attempt(engine, settings, account, "wrong", random_address(), now)
        assert code(attempt(engine, settings, account, GOOD_PASSWORD, random_address(), now)) == "ok"
        for _ in range(2):
            attempt(engine, settings, account, "wrong", random_address(), now)
        assert code(attempt(engine, settings, account, GOOD_PASSWORD, random_address(), now)) == "ok"


class TestThrottlingDoesNotRevealAccounts:
    def test_an_unknown_address_is_throttled_exactly_like_a_real_one(self, engine, settings, account, now):
        real, unknown = [], []
        for answers, email in ((real, account), (unknown, unique_email())):
            address = random_address()
            for _ in range(6):
                answers.append(code(attempt(engine, settings, email, "wrong", address, now)))
        assert real == unknown == ["invalid_credentials"] * 3 + ["too_many_attempts"] * 3


class TestThrottlingThroughTheApi:
    def test_repeated_failures_get_a_429_with_retry_after(self, client, email):
        register(client, email)
        for _ in range(limits.LOGIN_FAILURES_BEFORE_DELAY):
            assert client.post("/v1/auth/token", json={"email": email, "password": "wrong"}).status_code == 401
        response = client.post("/v1/auth/token", json={"email": email, "password": GOOD_PASSWORD, **captcha(client)})
        assert response.status_code == 429
        assert response.json()["error"]["type"] == "rate_limited" and int(response.headers["Retry-After"]) >= 1

    def test_x_forwarded_for_is_ignored_unless_a_setting_trusts_it(self, settings, engine, email):
        from fastapi.testclient import TestClient

        from amanah.api.app import create_app

        direct = settings.model_copy(update={"trust_x_forwarded_for": False})
        with TestClient(create_app(direct)) as direct_client:
            register(direct_client, email)
            for n in range(limits.LOGIN_ACCOUNTS_BEFORE_ADDRESS_CAPTCHA):
                direct_client.post("/v1/auth/token", json={"email": unique_email(), "password": "wrong"},
                                   headers={"X-Forwarded-For": f"198.51.100.{n}"})
            response = direct_client.post("/v1/auth/token", json={"email": unique_email(), "password": "x"},
                                          headers={"X-Forwarded-For": "198.51.100.200"})
        assert response.status_code == 429  # every attempt counted against the one real address
        with engine.begin() as conn:  # other tests' clients share this address
            throttle.clear(conn, throttle.keys_for("", "testclient").address)
