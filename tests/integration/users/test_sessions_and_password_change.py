"""My account → Security: the user sees where they are signed in and ends sessions, and changes
the password in place (current one required; every other session and token ends)."""

from __future__ import annotations

from amanah.core.clock import clock
from amanah.core.db import run_in_transaction
from amanah.users import service as users
from tests.integration.users.conftest import GOOD_PASSWORD, bearer, queued_params, register, token_for, unique_email

NEW_PASSWORD = "a brand new passphrase 42"


def _user_id(client, token: str) -> str:
    return client.get("/v1/me", headers=bearer(token)).json()["id"]


class TestSeeingAndEndingSessions:
    def test_sessions_and_tokens_are_listed_with_their_device_and_ended_one_by_one(self, client, engine, email):
        register(client, email)
        phone = client.post("/v1/auth/token", json={"email": email, "password": GOOD_PASSWORD},
                            headers={"User-Agent": "Mozilla/5.0 (Linux; Android 14) Chrome/126.0"}).json()["access_token"]
        laptop = token_for(client, email)
        user_id = _user_id(client, laptop)
        with engine.connect() as conn:
            listed = users.list_sessions(conn, user_id, now=clock.now(), current_session_id=laptop)
        assert [s.kind for s in listed] == ["access", "access"]
        assert [s.current for s in listed] == [True, False]
        assert "Android" in listed[1].user_agent
        ended = run_in_transaction(engine, lambda c: users.end_session_by_id(c, user_id, listed[1].ref, now=clock.now()))
        assert ended
        assert client.get("/v1/me", headers=bearer(phone)).status_code == 401
        assert client.get("/v1/me", headers=bearer(laptop)).status_code == 200
        with engine.connect() as conn:
            assert [s.ref for s in users.list_sessions(conn, user_id, now=clock.now())] == [listed[0].ref]

    def test_a_user_cannot_end_someone_elses_session(self, client, engine, email):
        register(client, email)
        other = unique_email("other")
        register(client, other)
        mine, theirs = token_for(client, email), token_for(client, other)
        my_id, their_id = _user_id(client, mine), _user_id(client, theirs)
        with engine.connect() as conn:
            [their_session] = users.list_sessions(conn, their_id, now=clock.now())
        for ref in (their_session.ref, "not-a-number", "99999999999999999999999"):
            assert not run_in_transaction(engine, lambda c, r=ref: users.end_session_by_id(
                c, my_id, r, now=clock.now()))
        assert client.get("/v1/me", headers=bearer(theirs)).status_code == 200

    def test_ending_the_other_sessions_keeps_this_one(self, client, engine, email):
        register(client, email)
        here, there, elsewhere = token_for(client, email), token_for(client, email), token_for(client, email)
        user_id = _user_id(client, here)
        assert run_in_transaction(engine, lambda c: users.end_other_sessions(c, user_id, here, now=clock.now())) == 2
        assert client.get("/v1/me", headers=bearer(here)).status_code == 200
        assert client.get("/v1/me", headers=bearer(there)).status_code == 401
        assert client.get("/v1/me", headers=bearer(elsewhere)).status_code == 401


class TestChangingThePassword:
    def test_the_password_changes_other_sessions_end_and_a_notice_is_mailed(self, client, engine, email):
        register(client, email)
        here, there = token_for(client, email), token_for(client, email)
        changed = client.post("/v1/me/password", headers=bearer(here),
                              json={"current_password": GOOD_PASSWORD, "new_password": NEW_PASSWORD})
        assert changed.status_code == 200, changed.text
        assert client.get("/v1/me", headers=bearer(here)).status_code == 200
        assert client.get("/v1/me", headers=bearer(there)).status_code == 401
        assert token_for(client, email, NEW_PASSWORD)
        assert client.post("/v1/auth/token", json={"email": email, "password": GOOD_PASSWORD}).status_code == 401
        assert len(queued_params(engine, email, "password_changed")) == 1

    def test_a_wrong_current_password_changes_nothing(self, client, engine, email):
        register(client, email)
        token = token_for(client, email)
        refused = client.post("/v1/me/password", headers=bearer(token),
                              json={"current_password": "not my password at all", "new_password": NEW_PASSWORD})
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_credentials"
        assert token_for(client, email)
        assert queued_params(engine, email, "password_changed") == []

    def test_the_new_password_must_pass_the_policy_and_differ(self, client, email):
        register(client, email)
        token = token_for(client, email)
        for weak in ("password", "short", GOOD_PASSWORD):
            refused = client.post("/v1/me/password", headers=bearer(token),
                                  json={"current_password": GOOD_PASSWORD, "new_password": weak})
            assert refused.status_code in (400, 422), refused.text
        assert client.get("/v1/me", headers=bearer(token)).status_code == 200

    def test_without_a_token_it_is_refused(self, client):
        assert client.post("/v1/me/password", json={"current_password": GOOD_PASSWORD,
                                                    "new_password": NEW_PASSWORD}).status_code == 401
