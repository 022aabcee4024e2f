"""Operators log in with an e-mail, a password AND the current TOTP code — never with fewer —
and failures are throttled like the users' sign-in."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest

from amanah.backoffice import actions
from amanah.core import limits
from amanah.core.clock import clock
from amanah.core.db import run_in_transaction
from amanah.users import service as users
from tests.integration.backoffice.conftest import CLI, audit_rows, create_operator, csrf_of, log_in

REFUSED = 401


def signed_in(client) -> bool:
    return client.get("/backoffice/disputes", follow_redirects=False).status_code == 200


class TestPasswordAndCodeTogether:
    def test_the_right_password_and_the_current_code_open_a_session(self, client, engine, operator):
        response = log_in(client, operator)
        assert response.status_code == 303 and response.headers["location"] == "/backoffice"
        cookie = response.headers["set-cookie"]
        assert cookie.startswith("amanah_backoffice=bos_")
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
        assert signed_in(client)
        logged = audit_rows(engine, action="operator.log_in", actor_id=operator.id)
        assert len(logged) == 1 and logged[0].actor_type == "account" and logged[0].client_address

    def test_a_wrong_code_is_refused(self, client, operator):
        wrong = "000000" if operator.code() != "000000" else "111111"
        response = log_in(client, operator, totp_code=wrong)
        assert response.status_code == REFUSED and "set-cookie" not in response.headers
        assert "wrong" in response.text and not signed_in(client)

    def test_no_code_is_refused_without_checking_the_password(self, client, operator):
        response = log_in(client, operator, totp_code="")
        assert response.status_code == 400 and "set-cookie" not in response.headers
        assert not signed_in(client)

    def test_a_code_is_never_accepted_twice(self, client, operator):
        code = operator.code()
        assert log_in(client, operator, totp_code=code).status_code == 303
        client.cookies.clear()
        replayed = log_in(client, operator, totp_code=code)
        assert replayed.status_code == REFUSED and not signed_in(client)
        assert log_in(client, operator, steps_ahead=1).status_code == 303  # the next code works

    def test_the_right_code_with_a_wrong_password_is_refused(self, client, operator):
        response = log_in(client, operator, password="not the password at all")
        assert response.status_code == REFUSED and not signed_in(client)

    def test_an_unknown_email_gets_the_same_answer(self, client, operator):
        known = log_in(client, operator, password="wrong password here")
        unknown = log_in(client, operator, email="nobody.here@example.com", steps_ahead=1)
        assert known.status_code == unknown.status_code == REFUSED
        assert "The e-mail address, the password or the authenticator code is wrong." in unknown.text

    def test_an_operator_api_key_opens_nothing(self, client, engine, operator):
        from amanah.operators import service as operators

        _key, secret = run_in_transaction(engine, lambda c: operators.create_key(c, label="k", now=clock.now()))
        response = client.get("/backoffice/disputes", headers={"Authorization": f"Bearer {secret}"},
                              follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/backoffice/login")


class TestOneTimePassword:
    def test_the_first_log_in_must_choose_a_new_password_before_anything_else(self, client, engine, settings):
        fresh = create_operator(engine, settings, own_password=False)
        response = log_in(client, fresh)
        assert response.status_code == 303 and response.headers["location"] == "/backoffice/password"
        assert client.get("/backoffice/disputes", follow_redirects=False).headers["location"] == "/backoffice/password"
        page = client.get("/backoffice/password")
        changed = client.post("/backoffice/password", data={
            "csrf_token": csrf_of(page.text), "current_password": fresh.password,
            "new_password": "a password of my own 7", "new_password_again": "a password of my own 7"},
            follow_redirects=False)
        assert changed.status_code == 303
        assert signed_in(client)
        assert audit_rows(engine, action="operator.password_change", actor_id=fresh.id)

    def test_a_common_password_is_refused(self, client, engine, settings):
        fresh = create_operator(engine, settings, own_password=False)
        log_in(client, fresh)
        page = client.get("/backoffice/password")
        refused = client.post("/backoffice/password", data={
            "csrf_token": csrf_of(page.text), "current_password": fresh.password,
            "new_password": "password123", "new_password_again": "password123"}, follow_redirects=False)
        assert refused.status_code == 400 and "common" in refused.text


class TestSessions:
    def test_logging_out_ends_the_session(self, client, engine, operator):
        log_in(client, operator)
        cookie = dict(client.cookies)
        page = client.get("/backoffice")
        out = client.post("/backoffice/logout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
        assert out.status_code == 303 and out.headers["location"] == "/backoffice/login"
        client.cookies.update(cookie)  # the old cookie, kept by someone: worthless now
        assert not signed_in(client)
        assert audit_rows(engine, action="operator.log_out", actor_id=operator.id)

    def test_a_session_ends_after_a_while_without_a_request(self, client, operator):
        log_in(client, operator)
        assert signed_in(client)
        clock.advance(limits.OPERATOR_SESSION_IDLE_S + 1)
        assert not signed_in(client)

    def test_disabling_an_account_ends_its_sessions_and_its_log_ins(self, client, engine, operator):
        log_in(client, operator)
        run_in_transaction(engine, lambda c: actions.disable_operator(c, CLI, operator.email, now=clock.now()))
        assert not signed_in(client)
        assert log_in(client, operator, steps_ahead=1).status_code == REFUSED
        disabled = audit_rows(engine, action="operator.disable", target_id=operator.id)
        assert disabled[0].before["disabled_at"] is None and disabled[0].after["disabled_at"] is not None

    def test_over_https_the_cookie_is_secure_and_host_only(self, settings, engine, operator):
        from fastapi.testclient import TestClient

        from amanah.api.app import create_app

        https = settings.model_copy(update={"base_url": "https://amanah.example"})
        with TestClient(create_app(https), base_url="https://amanah.example",
                        headers={"X-Forwarded-For": "10.9.8.7"}) as secure_client:
            response = log_in(secure_client, operator)
        cookie = response.headers["set-cookie"]
        assert cookie.startswith("__Host-amanah_backoffice=") and "Secure" in cookie and "SameSite=strict" in cookie


class TestThrottling:
    def test_repeated_failures_make_even_the_right_credentials_wait(self, client, operator):
        for _ in range(limits.LOGIN_FAILURES_BEFORE_CAPTCHA):
            assert log_in(client, operator, password="a wrong guess").status_code in (REFUSED, 429)
        refused = log_in(client, operator)
        assert refused.status_code == 429 and "Too many failed attempts" in refused.text
        assert 'name="captcha_id"' in refused.text  # the way out for the real operator
        assert not signed_in(client)

    def test_after_the_delay_a_solved_captcha_lets_the_operator_in(self, client, operator):
        for _ in range(limits.LOGIN_FAILURES_BEFORE_CAPTCHA):
            log_in(client, operator, password="a wrong guess")
        clock.advance(limits.LOGIN_DELAY_MAX_S + 1)
        captcha_id = client.get("/v1/captcha").json()["captcha_id"]
        response = log_in(client, operator, captcha_id=captcha_id, captcha_answer="test")
        assert response.status_code == 303, response.text
        assert signed_in(client)

    def test_failures_from_one_address_do_not_lock_out_another_operator_elsewhere(self, client, engine, settings,
                                                                                   operator):
        other = create_operator(engine, settings)
        for _ in range(limits.LOGIN_FAILURES_BEFORE_CAPTCHA + 1):
            log_in(client, operator, password="a wrong guess")
        client.headers["X-Forwarded-For"] = "10.200.1.1"
        assert log_in(client, other).status_code == 303

    def test_operators_failures_do_not_put_the_cabinets_log_in_at_that_address_behind_a_captcha(
            self, client, engine, settings, operator):
        for _ in range(limits.LOGIN_FAILURES_BEFORE_CAPTCHA + 1):
            log_in(client, operator, password="a wrong guess")
        address = client.headers["X-Forwarded-For"]
        email = f"user.{secrets.token_hex(4)}@example.com"
        run_in_transaction(engine, lambda c: users.register_user(
            c, settings, email=email, password="correct horse battery staple", name="", now=clock.now()))
        outcome = run_in_transaction(engine, lambda c: users.log_in(
            c, settings, email=email, password="correct horse battery staple", client_address=address,
            now=clock.now()))
        assert outcome.error is None


@pytest.mark.parametrize("field", ["email", "password", "totp_code"])
def test_a_form_missing_any_of_the_three_is_refused(client, operator, field):
    response = log_in(client, operator, **{field: ""})
    assert response.status_code == 400 and not signed_in(client)


def test_a_log_in_form_sent_from_another_site_is_refused(client, operator):
    response = client.post("/backoffice/login", data=operator.form(), headers={"Origin": "https://evil.example"},
                           follow_redirects=False)
    assert response.status_code == 403 and "set-cookie" not in response.headers
