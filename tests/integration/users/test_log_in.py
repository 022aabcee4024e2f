"""Logging in: tokens for apps, cookie sessions for the cabinet, logging out."""

from __future__ import annotations

from datetime import timedelta

from amanah.core import limits
from amanah.users import service as users
from tests.integration.users.conftest import GOOD_PASSWORD, bearer, register, token_for, unique_email


class TestLoggingInWithAToken:
    def test_the_token_identifies_the_user(self, client, email):
        user = register(client, email)
        response = client.post("/v1/auth/token", json={"email": email, "password": GOOD_PASSWORD})
        assert response.status_code == 200
        body = response.json()
        assert body["access_token"].startswith("ut_") and len(body["access_token"]) >= 3 + 43
        assert body["token_type"] == "bearer" and body["user_id"] == user["id"]
        assert client.get("/v1/me", headers=bearer(body["access_token"])).json()["id"] == user["id"]

    def test_a_wrong_password_and_an_unknown_address_get_the_same_answer(self, client, email):
        register(client, email)
        wrong = client.post("/v1/auth/token", json={"email": email, "password": "not the password"})
        unknown = client.post("/v1/auth/token", json={"email": unique_email(), "password": "not the password"})
        assert wrong.status_code == unknown.status_code == 401
        assert wrong.json() == unknown.json()
        assert wrong.json()["error"]["code"] == "invalid_credentials"

    def test_no_token_or_a_bad_one_is_a_401_in_the_api_error_shape(self, client):
        assert client.get("/v1/me").json()["error"]["code"] == "missing_credentials"
        response = client.get("/v1/me", headers=bearer("ut_not-a-real-token"))
        assert response.status_code == 401 and response.json()["error"]["type"] == "authentication"

    def test_a_token_expires(self, engine, settings, now):
        with engine.begin() as conn:
            user = users.register_user(conn, settings, email=unique_email(), password=GOOD_PASSWORD, name="", now=now)
            token = users.issue_access_token(conn, user.id, now=now)
            later = now + timedelta(seconds=limits.ACCESS_TOKEN_TTL_S)
            assert users.user_for_access_token(conn, token.access_token, now=later - timedelta(seconds=1))
            assert users.user_for_access_token(conn, token.access_token, now=later) is None


class TestLoggingOut:
    def test_the_token_stops_working(self, client, email):
        register(client, email)
        token = token_for(client, email)
        assert client.post("/v1/auth/logout", headers=bearer(token)).status_code == 204
        assert client.get("/v1/me", headers=bearer(token)).status_code == 401

    def test_other_tokens_of_the_user_keep_working(self, client, email):
        register(client, email)
        phone, laptop = token_for(client, email), token_for(client, email)
        client.post("/v1/auth/logout", headers=bearer(phone))
        assert client.get("/v1/me", headers=bearer(laptop)).status_code == 200


class TestCabinetSessions:
    def _log_in(self, client, email):
        response = client.post("/v1/auth/sessions", json={"email": email, "password": GOOD_PASSWORD})
        assert response.status_code == 200, response.text
        return response

    def test_the_session_cookie_is_http_only_and_same_site_lax(self, client, email):
        register(client, email)
        cookie = self._log_in(client, email).headers["set-cookie"]
        assert cookie.startswith("amanah_session=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
        assert client.get("/v1/me").status_code == 200

    def test_in_production_over_https_it_is_a_secure_host_only_cookie(self, settings, engine, email):
        from fastapi.testclient import TestClient

        from amanah.api.app import create_app

        https = settings.model_copy(update={"base_url": "https://pay.example"})
        with TestClient(create_app(https), base_url="https://testserver") as secure_client:
            register(secure_client, email)
            cookie = self._log_in(secure_client, email).headers["set-cookie"]
        assert cookie.startswith("__Host-amanah_session=") and "Secure" in cookie and "Path=/" in cookie
        assert "Domain" not in cookie

    def test_a_state_changing_request_needs_the_csrf_token(self, client, email):
        register(client, email)
        csrf = self._log_in(client, email).json()["csrf_token"]
        refused = client.post("/v1/auth/logout")
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "csrf_failed"
        assert client.post("/v1/auth/logout", headers={"X-CSRF-Token": "forged"}).status_code == 403
        assert client.post("/v1/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
        assert client.get("/v1/me").status_code == 401

    def test_each_log_in_gets_a_new_session_id_and_ends_the_previous_one(self, client, email):
        register(client, email)
        self._log_in(client, email)
        first = client.cookies.get("amanah_session")
        self._log_in(client, email)
        second = client.cookies.get("amanah_session")
        assert first != second
        client.cookies.set("amanah_session", first)
        assert client.get("/v1/me").status_code == 401

    def test_the_service_side_verifies_the_session_and_its_csrf_token(self, engine, settings, now):
        with engine.begin() as conn:
            user = users.register_user(conn, settings, email=unique_email(), password=GOOD_PASSWORD, name="", now=now)
            session = users.start_session(conn, user.id, now=now)
            assert users.user_for_session(conn, session.session_id, now=now).id == user.id
            assert users.verify_csrf(session.session_id, session.csrf_token)
            users.end_session(conn, session.session_id, now=now)
            assert users.user_for_session(conn, session.session_id, now=now) is None

