"""Buyers from a marketplace: registered automatically at their first payment, invited to choose
a password, and logged in from the marketplace's menu by a single-use link ("My Alipay")."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from amanah.core import limits
from amanah.core.db import run_in_transaction
from amanah.users import service as users
from amanah.users.errors import InvalidLink
from tests.integration.users.conftest import GOOD_PASSWORD, queued_params, token_for, unique_email


class TestRegisteringABuyerAutomatically:
    def test_the_account_has_no_password_and_the_buyer_is_invited_to_choose_one(self, client, engine, now):
        email = unique_email("buyer")
        user = run_in_transaction(engine, lambda conn: users.register_automatically(
            conn, email.upper(), name="Wang Fang", locale="zh-CN", now=now))
        assert (user.email, user.locale, user.has_password, user.email_verified) == (email, "zh", False, False)
        [invitation] = queued_params(engine, email, "invitation")
        response = client.post("/v1/password-resets/confirm", json={"token": invitation["token"],
                                                                    "new_password": GOOD_PASSWORD})
        assert response.status_code == 200
        assert response.json()["has_password"] is True and response.json()["email_verified"] is True
        assert token_for(client, email)
        assert queued_params(engine, email, "password_changed") == []  # a first password is no alarm

    def test_an_existing_account_is_returned_unchanged_and_nobody_is_invited_again(self, engine, now):
        email = unique_email("buyer")
        first = run_in_transaction(engine, lambda conn: users.register_automatically(conn, email, now=now))
        again = run_in_transaction(engine, lambda conn: users.register_automatically(conn, email, name="Other", now=now))
        assert again == first and len(queued_params(engine, email, "invitation")) == 1

    def test_an_automatically_registered_buyer_cannot_log_in_without_a_password(self, client, engine, now):
        email = unique_email("buyer")
        run_in_transaction(engine, lambda conn: users.register_automatically(conn, email, now=now))
        response = client.post("/v1/auth/token", json={"email": email, "password": "anything at all"})
        assert response.status_code == 401 and response.json()["error"]["code"] == "invalid_credentials"

    def test_the_invitation_lasts_a_week(self, engine, settings, now):
        email = unique_email("buyer")
        run_in_transaction(engine, lambda conn: users.register_automatically(conn, email, now=now))
        [invitation] = queued_params(engine, email, "invitation")
        late = now + timedelta(seconds=limits.INVITATION_TTL_S)
        outcome = run_in_transaction(engine, lambda conn: users.confirm_password_reset(
            conn, settings, token=invitation["token"], new_password=GOOD_PASSWORD, now=late))
        assert outcome.error.code == "invalid_link"


class TestSingleSignOnLinks:
    @pytest.fixture
    def buyer(self, engine, now) -> users.User:
        return run_in_transaction(engine, lambda conn: users.register_automatically(conn, unique_email("buyer"), now=now))

    def link(self, engine, buyer, now, platform_id="plt_shop") -> str:
        url = run_in_transaction(engine, lambda conn: users.create_login_link(
            conn, platform_id=platform_id, user_id=buyer.id, base_url="https://pay.example/", now=now))
        assert url.startswith("https://pay.example/sso/login?token=usl_")
        return parse_qs(urlsplit(url).query)["token"][0]

    def test_the_link_logs_the_buyer_in_once(self, engine, buyer, now):
        token = self.link(engine, buyer, now)
        used = run_in_transaction(engine, lambda conn: users.consume_login_link(conn, token, now=now))
        assert (used.user.id, used.platform_id) == (buyer.id, "plt_shop")
        with pytest.raises(InvalidLink):
            run_in_transaction(engine, lambda conn: users.consume_login_link(conn, token, now=now))

    def test_the_link_expires_after_two_minutes(self, engine, buyer, now):
        token = self.link(engine, buyer, now)
        with pytest.raises(InvalidLink):
            run_in_transaction(engine, lambda conn: users.consume_login_link(
                conn, token, now=now + timedelta(seconds=limits.LOGIN_LINK_TTL_S)))

    def test_a_link_made_by_one_platform_is_refused_for_another(self, engine, buyer, now):
        token = self.link(engine, buyer, now, platform_id="plt_shop")
        with pytest.raises(InvalidLink):
            run_in_transaction(engine, lambda conn: users.consume_login_link(conn, token, now=now,
                                                                              platform_id="plt_other"))

    def test_the_session_it_starts_remembers_the_platform(self, engine, buyer, now):
        token = self.link(engine, buyer, now)

        def work(conn):
            used = users.consume_login_link(conn, token, now=now)
            return users.start_session(conn, used.user.id, platform_id=used.platform_id, now=now)

        session = run_in_transaction(engine, work)
        assert session.platform_id == "plt_shop" and users.verify_csrf(session.session_id, session.csrf_token)
