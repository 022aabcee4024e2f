"""Two-factor sign-in with TOTP: turning it on with a QR code, logging in with a code,
recovery codes, turning it off."""

from __future__ import annotations

import base64
from datetime import timedelta

import pyotp
import pytest

from amanah.core.clock import clock
from tests.integration.users.conftest import GOOD_PASSWORD, bearer, register, token_for


def code_at(totp: pyotp.TOTP, steps_ahead: int = 0) -> str:
    """A code at the server's clock (test-mode clock advances move it)."""
    return totp.at(clock.now() + timedelta(seconds=30 * steps_ahead))


@pytest.fixture
def signed_in(client, email) -> tuple[str, str]:
    register(client, email)
    return email, token_for(client, email)


@pytest.fixture
def enabled(client, signed_in) -> tuple[str, str, pyotp.TOTP, list[str]]:
    email, token = signed_in
    setup = client.post("/v1/me/two-factor", json={"password": GOOD_PASSWORD}, headers=bearer(token)).json()
    totp = pyotp.TOTP(setup["secret"])
    codes = client.post("/v1/me/two-factor/confirm", json={"code": code_at(totp)}, headers=bearer(token)).json()
    return email, token, totp, codes["recovery_codes"]


def log_in(client, email, **extra):
    return client.post("/v1/auth/token", json={"email": email, "password": GOOD_PASSWORD, **extra})


class TestTurningOnTwoFactor:
    def test_the_user_gets_a_qr_code_of_an_otpauth_uri(self, client, signed_in):
        email, token = signed_in
        response = client.post("/v1/me/two-factor", json={"password": GOOD_PASSWORD}, headers=bearer(token))
        assert response.status_code == 200
        setup = response.json()
        assert setup["otpauth_uri"].startswith("otpauth://totp/Amanah:") and f"secret={setup['secret']}" in setup["otpauth_uri"]
        assert base64.b64decode(setup["qr_png_base64"]).startswith(b"\x89PNG") and "<svg" in setup["qr_svg"]

    def test_it_needs_the_password(self, client, signed_in):
        _email, token = signed_in
        response = client.post("/v1/me/two-factor", json={"password": "not it at all"}, headers=bearer(token))
        assert response.status_code == 401

    def test_it_is_on_only_after_a_correct_code_and_returns_ten_recovery_codes(self, client, signed_in):
        email, token = signed_in
        secret = client.post("/v1/me/two-factor", json={"password": GOOD_PASSWORD}, headers=bearer(token)).json()["secret"]
        wrong = client.post("/v1/me/two-factor/confirm", json={"code": "123456"}, headers=bearer(token))
        assert wrong.status_code == 401 and client.get("/v1/me", headers=bearer(token)).json()["two_factor_enabled"] is False
        confirmed = client.post("/v1/me/two-factor/confirm", json={"code": code_at(pyotp.TOTP(secret))}, headers=bearer(token))
        assert confirmed.status_code == 200 and len(set(confirmed.json()["recovery_codes"])) == 10
        assert client.get("/v1/me", headers=bearer(token)).json()["two_factor_enabled"] is True

    def test_confirming_before_starting_is_a_409(self, client, signed_in):
        _email, token = signed_in
        assert client.post("/v1/me/two-factor/confirm", json={"code": "123456"}, headers=bearer(token)).status_code == 409


class TestLoggingInWithTwoFactor:
    def test_the_password_alone_asks_for_the_code(self, client, enabled):
        email, *_ = enabled
        response = log_in(client, email)
        assert response.status_code == 401 and response.json()["error"]["code"] == "two_factor_required"

    def test_a_current_code_logs_in(self, client, enabled):
        email, _token, totp, _codes = enabled
        assert log_in(client, email, totp_code=code_at(totp, 1)).status_code == 200

    def test_a_wrong_code_is_refused(self, client, enabled):
        email, *_ = enabled
        response = log_in(client, email, totp_code="000000")
        assert response.status_code == 401 and response.json()["error"]["code"] == "two_factor_invalid"

    def test_a_code_cannot_be_replayed(self, client, enabled):
        email, _token, totp, _codes = enabled
        code = code_at(totp, 1)
        assert log_in(client, email, totp_code=code).status_code == 200
        assert log_in(client, email, totp_code=code).status_code == 401

    def test_a_recovery_code_works_once(self, client, enabled):
        email, _token, _totp, codes = enabled
        assert log_in(client, email, recovery_code=codes[0].upper()).status_code == 200
        assert log_in(client, email, recovery_code=codes[0]).status_code == 401


class TestTurningOffTwoFactor:
    def test_it_needs_the_password_and_a_code(self, client, enabled):
        email, token, totp, codes = enabled
        no_code = client.post("/v1/me/two-factor/disable", json={"password": GOOD_PASSWORD}, headers=bearer(token))
        assert no_code.status_code == 401
        done = client.post("/v1/me/two-factor/disable", json={"password": GOOD_PASSWORD, "recovery_code": codes[1]},
                           headers=bearer(token))
        assert done.status_code == 200 and done.json()["two_factor_enabled"] is False
        assert log_in(client, email).status_code == 200
