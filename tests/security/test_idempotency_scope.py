"""The Idempotency-Key store must not answer before the caller is known: a request without
valid credentials is a 401, whatever key it carries (found by the fuzzer's ``ignored_auth``
check, which re-sends a request without credentials), and a credential revoked, ended or
disabled since the first request gets its 401, not the answer stored under the key."""

from __future__ import annotations

import secrets

from starlette.requests import Request

from amanah.api.callers import credential_refusal
from amanah.api.user_auth import session_cookie_name
from amanah.core.clock import clock
from amanah.core.db import run_in_transaction
from amanah.operators import service as operators
from amanah.platforms import service as platforms
from amanah.platforms.models import platforms as platforms_table
from amanah.users import service as users
from tests.conftest import user_with_token


def test_a_key_reused_with_a_wrong_credential_is_still_refused_as_unauthenticated(client):
    key = f"k-{secrets.token_hex(4)}"
    wrong = {"Authorization": "Bearer sk_not_a_real_key", "Idempotency-Key": key}
    first = client.post("/v1/trades", json={"anything": 1}, headers=wrong)
    assert first.status_code == 401, first.text
    response = client.post("/v1/sellers", json={"platform_seller_id": "s1", "email": "s1@example.com", "name": "S"},
                           headers=wrong)
    assert response.status_code == 401, response.text


def test_an_unauthenticated_request_with_a_fresh_key_is_refused_as_unauthenticated(client):
    response = client.post("/v1/sellers", json={"platform_seller_id": "s1", "email": "s1@example.com", "name": "S"},
                           headers={"Idempotency-Key": f"k-{secrets.token_hex(4)}"})
    assert response.status_code == 401, response.text


# --- a stored answer goes only to a credential that is still current -------------------------

CARD = {"number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2031, "cvc": "987", "holder_name": "Dewi Lestari"}


def _bind_card_twice(client, headers: dict) -> None:
    """A card bound with a key, and the repeat answered from the key: the store works for them."""
    first = client.post("/v1/me/cards", json=CARD, headers=headers)
    again = client.post("/v1/me/cards", json=CARD, headers=headers)
    assert first.status_code == again.status_code == 201, first.text
    assert again.headers["idempotent-replayed"] == "true" and again.json() == first.json()


def test_a_user_token_revoked_since_gets_its_401_not_the_stored_answer(client, engine):
    _user_id, token = user_with_token(engine, "revoked")
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": f"k-{secrets.token_hex(4)}"}
    _bind_card_twice(client, headers)
    assert client.post("/v1/auth/logout", headers={"Authorization": f"Bearer {token}"}).status_code == 204
    repeat = client.post("/v1/me/cards", json=CARD, headers=headers)
    other_body = client.post("/v1/me/cards", json=CARD | {"holder_name": "Someone Else"}, headers=headers)
    assert repeat.status_code == 401 and repeat.json()["error"]["code"] == "invalid_token", repeat.text
    assert "idempotent-replayed" not in repeat.headers
    assert other_body.status_code == 401, other_body.text  # not the key's 422 either


def test_an_ended_session_gets_its_401_not_the_stored_answer(client, engine):
    def work(connection):
        user = users.register_automatically(connection, f"ended.{secrets.token_hex(6)}@example.com", now=clock.now())
        return users.start_session(connection, user.id, now=clock.now())

    session = run_in_transaction(engine, work)
    client.cookies.set(session_cookie_name(client.app.state.settings), session.session_id)
    try:
        headers = {"X-CSRF-Token": session.csrf_token, "Idempotency-Key": f"k-{secrets.token_hex(4)}"}
        _bind_card_twice(client, headers)
        run_in_transaction(engine, lambda connection: users.end_session(connection, session.session_id,
                                                                        now=clock.now()))
        repeat = client.post("/v1/me/cards", json=CARD, headers=headers)
    finally:
        client.cookies.clear()
    assert repeat.status_code == 401 and repeat.json()["error"]["code"] == "session_expired", repeat.text
    assert "idempotent-replayed" not in repeat.headers


def test_a_disabled_platforms_key_gets_its_401_not_the_stored_answer(client, engine):
    platform, secret = run_in_transaction(engine, lambda connection: platforms.create_platform(
        connection, name="Soon Gone", now=clock.now()))
    headers = {"Authorization": f"Bearer {secret}", "Idempotency-Key": f"k-{secrets.token_hex(4)}"}
    seller = {"platform_seller_id": "s1", "email": f"s1.{secrets.token_hex(4)}@example.com", "name": "S"}
    first = client.post("/v1/sellers", json=seller, headers=headers)
    again = client.post("/v1/sellers", json=seller, headers=headers)
    assert first.status_code == again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    run_in_transaction(engine, lambda connection: connection.execute(
        platforms_table.update().where(platforms_table.c.id == platform.id).values(disabled_at=clock.now())))
    repeat = client.post("/v1/sellers", json=seller, headers=headers)
    assert repeat.status_code == 401 and repeat.json()["error"]["code"] == "invalid_api_key", repeat.text


def test_each_kind_of_credential_is_judged_as_its_routes_judge_it(client, engine):
    """``credential_refusal`` directly, for the kinds no POST above covers: an operator key,
    current and revoked; a credential of no kind Amanah issues, and none at all (no refusal:
    the route decides, and nothing was stored under a credential it refused)."""
    operator, secret = run_in_transaction(engine, lambda connection: operators.create_key(
        connection, label="replays", now=clock.now()))
    app = client.app

    def refusal(headers: dict):
        scope = {"type": "http", "method": "POST", "path": "/", "query_string": b"",
                 "headers": [(name.lower().encode(), value.encode()) for name, value in headers.items()]}
        return credential_refusal(app.state.engine, app.state.settings, Request(scope))

    assert refusal({"Authorization": f"Bearer {secret}"}) is None
    run_in_transaction(engine, lambda connection: operators.revoke_key(connection, operator.key_id, now=clock.now()))
    assert refusal({"Authorization": f"Bearer {secret}"}).code == "invalid_api_key"
    assert refusal({"Authorization": "Bearer ut_never_issued"}).code == "invalid_token"
    assert refusal({"Authorization": "Bearer not-ours"}) is None
    assert refusal({"Authorization": "Basic dXNlcjpwYXNz"}) is None
    assert refusal({}) is None
