"""Forgotten password, as the seed tells it: e-mail + captcha → a link by e-mail → a new password."""

from __future__ import annotations

import re
import statistics
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest

from amanah.core import limits
from amanah.core.clock import clock
from amanah.core.db import run_in_transaction
from amanah.users import service as users
from tests.integration.mail.smtp_server import smtp_server, text_part
from tests.integration.users.conftest import (
    GOOD_PASSWORD,
    bearer,
    captcha,
    deliver_mail,
    queued_params,
    register,
    token_for,
    unique_email,
)

NEW_PASSWORD = "a brand new passphrase 42"


def ask_reset(client, email: str):
    return client.post("/v1/password-resets", json={"email": email, **captcha(client)})


def reset_token(engine, email: str) -> str:
    return queued_params(engine, email, "password_reset")[-1]["token"]


class TestResettingAForgottenPassword:
    def test_the_user_follows_the_link_in_the_mail_from_a_real_smtp_server(self, client, engine, settings, email):
        register(client, email, name="Ivan", locale="ru")
        assert ask_reset(client, email).status_code == 202
        with smtp_server() as (inbox, port):
            deliver_mail(engine, settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{port}"}))
            [message] = [m for m in inbox.to(email) if "reset-password" in text_part(m)]
            link = re.search(r"http://testserver/reset-password\?token=\S+", text_part(message)).group(0)
            token = parse_qs(urlsplit(link).query)["token"][0]
            assert message["Subject"] == "Восстановление пароля Amanah"
            confirmed = client.post("/v1/password-resets/confirm", json={"token": token, "new_password": NEW_PASSWORD})
            assert confirmed.status_code == 200 and confirmed.json()["email"] == email
            deliver_mail(engine, settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{port}"}))
            assert [m["Subject"] for m in inbox.to(email)][-1] == "Пароль Amanah изменён"
        assert token_for(client, email, NEW_PASSWORD)
        assert client.post("/v1/auth/token", json={"email": email, "password": GOOD_PASSWORD}).status_code == 401

    def test_old_tokens_and_sessions_stop_working(self, client, engine, email):
        register(client, email)
        old_token = token_for(client, email)
        client.post("/v1/auth/sessions", json={"email": email, "password": GOOD_PASSWORD})
        assert client.get("/v1/me").status_code == 200
        ask_reset(client, email)
        client.post("/v1/password-resets/confirm", json={"token": reset_token(engine, email), "new_password": NEW_PASSWORD})
        assert client.get("/v1/me", headers=bearer(old_token)).status_code == 401
        assert client.get("/v1/me").status_code == 401  # the session cookie

    def test_the_link_works_once(self, client, engine, email):
        register(client, email)
        ask_reset(client, email)
        token = reset_token(engine, email)
        assert client.post("/v1/password-resets/confirm", json={"token": token, "new_password": NEW_PASSWORD}).status_code == 200
        again = client.post("/v1/password-resets/confirm", json={"token": token, "new_password": NEW_PASSWORD + "!"})
        assert again.status_code == 400 and again.json()["error"]["code"] == "invalid_link"

    def test_the_link_expires_after_thirty_minutes(self, engine, settings, now):
        email = unique_email()
        with engine.begin() as conn:
            users.register_user(conn, settings, email=email, password=GOOD_PASSWORD, name="", now=now)
            users.request_password_reset(conn, email=email, now=now)
        token = reset_token(engine, email)
        late = now + timedelta(seconds=limits.PASSWORD_RESET_TTL_S)
        outcome = run_in_transaction(engine, lambda conn: users.confirm_password_reset(
            conn, settings, token=token, new_password=NEW_PASSWORD, now=late))
        assert outcome.error.code == "invalid_link"

    def test_a_weak_new_password_is_refused_and_the_link_still_works(self, client, engine, email):
        register(client, email)
        ask_reset(client, email)
        token = reset_token(engine, email)
        weak = client.post("/v1/password-resets/confirm", json={"token": token, "new_password": "qwerty123"})
        assert weak.status_code == 400 and weak.json()["error"]["code"] == "weak_password"
        assert client.post("/v1/password-resets/confirm", json={"token": token, "new_password": NEW_PASSWORD}).status_code == 200

    def test_a_wrong_captcha_is_a_400(self, client, email):
        response = client.post("/v1/password-resets", json={"email": email, "captcha_id": "cap_x", "captcha_answer": "x"})
        assert response.status_code == 400 and response.json()["error"]["code"] == "captcha_invalid"


class TestResettingDoesNotRevealWhetherAnAccountExists:
    def test_the_answer_is_the_same_for_an_unknown_address(self, client, email):
        register(client, email)
        known, unknown = ask_reset(client, email), ask_reset(client, unique_email())
        assert known.status_code == unknown.status_code == 202
        assert known.json() == unknown.json()

    def test_the_answer_takes_about_the_same_time(self, client, engine, settings, email):
        """Median times over 100 interleaved tries each differ by under 5 ms (a statistical check
        of behaviour: medians, not absolute timings)."""
        register(client, email)
        timings = {"known": [], "unknown": []}
        for n in range(200):
            kind = "known" if n % 2 == 0 else "unknown"
            body = {"email": email if kind == "known" else unique_email(), **captcha(client)}
            started = time.perf_counter()
            response = client.post("/v1/password-resets", json=body)
            timings[kind].append(time.perf_counter() - started)
            assert response.status_code == 202
        difference_ms = abs(statistics.median(timings["known"]) - statistics.median(timings["unknown"])) * 1000
        print(f"reset timing: medians differ by {difference_ms:.3f} ms")
        assert difference_ms < 5, f"medians differ by {difference_ms:.2f} ms"


def verify_email(client, engine, email: str) -> None:
    token = queued_params(engine, email, "verify_email")[-1]["token"]
    assert client.post("/v1/email-verifications/confirm", json={"token": token}).status_code == 200


class TestTheMailboxOwnerAlwaysGetsIn:
    """The squatter of issue 27: someone registers another person's address (never verified),
    turns on two-factor and stays signed in. The person who reads that mailbox resets the
    password by the e-mailed link and gets in; the squatter is out, his second factor gone."""

    def test_a_reset_of_a_never_verified_account_clears_the_squatters_two_factor_and_sessions(
            self, client, engine, email):
        register(client, email, password="squatters own password 1")
        squatter = token_for(client, email, "squatters own password 1")
        _totp, recovery_codes = turn_on_two_factor_as(client, squatter, "squatters own password 1")
        ask_reset(client, email)
        confirmed = client.post("/v1/password-resets/confirm", json={"token": reset_token(engine, email),
                                                                     "new_password": NEW_PASSWORD})
        assert confirmed.status_code == 200, confirmed.text
        assert confirmed.json()["two_factor_enabled"] is False and confirmed.json()["email_verified"] is True
        assert client.get("/v1/me", headers=bearer(squatter)).status_code == 401
        owner = token_for(client, email, NEW_PASSWORD)  # no code asked
        assert client.get("/v1/me", headers=bearer(owner)).json()["two_factor_enabled"] is False
        # The squatter's recovery codes went with his two-factor setup: once the owner turns it
        # on with an app of their own, none of the old codes logs in.
        turn_on_two_factor_as(client, owner, NEW_PASSWORD)
        for code in recovery_codes[:3]:
            assert client.post("/v1/auth/token", json={"email": email, "password": NEW_PASSWORD,
                                                       "recovery_code": code}).status_code == 401

    def test_a_pending_two_factor_setup_of_the_squatter_is_cleared_too(self, client, engine, email):
        register(client, email)
        squatter = token_for(client, email)
        client.post("/v1/me/two-factor", json={"password": GOOD_PASSWORD}, headers=bearer(squatter))
        ask_reset(client, email)
        assert client.post("/v1/password-resets/confirm", json={
            "token": reset_token(engine, email), "new_password": NEW_PASSWORD}).status_code == 200
        owner = token_for(client, email, NEW_PASSWORD)
        conflict = client.post("/v1/me/two-factor/confirm", json={"code": "123456"}, headers=bearer(owner))
        assert conflict.status_code == 409  # nothing pending: the squatter's secret is gone


def turn_on_two_factor_as(client, token: str, password: str) -> tuple[pyotp.TOTP, list[str]]:
    secret = client.post("/v1/me/two-factor", json={"password": password}, headers=bearer(token)).json()["secret"]
    totp = pyotp.TOTP(secret)
    confirmed = client.post("/v1/me/two-factor/confirm", json={"code": totp.at(clock.now())}, headers=bearer(token))
    assert confirmed.status_code == 200, confirmed.text
    return totp, confirmed.json()["recovery_codes"]


class TestResettingDoesNotBypassTwoFactor:
    """On an account whose mailbox was verified, the link alone does not switch two-factor off."""

    @pytest.fixture
    def two_factor_user(self, client, engine, email) -> tuple[str, pyotp.TOTP]:
        register(client, email)
        verify_email(client, engine, email)
        token = token_for(client, email)
        secret = client.post("/v1/me/two-factor", json={"password": GOOD_PASSWORD}, headers=bearer(token)).json()["secret"]
        totp = pyotp.TOTP(secret)
        client.post("/v1/me/two-factor/confirm", json={"code": totp.at(clock.now())}, headers=bearer(token))
        return email, totp

    def test_the_link_alone_is_not_enough(self, client, engine, two_factor_user):
        email, totp = two_factor_user
        ask_reset(client, email)
        token = reset_token(engine, email)
        refused = client.post("/v1/password-resets/confirm", json={"token": token, "new_password": NEW_PASSWORD})
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "two_factor_required"
        wrong = client.post("/v1/password-resets/confirm", json={"token": token, "new_password": NEW_PASSWORD,
                                                                 "totp_code": "000000"})
        assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "two_factor_invalid"
        at_next_step = totp.at(clock.now() + timedelta(seconds=30))  # the step after the one used to turn it on
        accepted = client.post("/v1/password-resets/confirm", json={"token": token, "new_password": NEW_PASSWORD,
                                                                    "totp_code": at_next_step})
        assert accepted.status_code == 200, accepted.text
