"""The pay endpoint looks its user up itself (issue #10): on PostgreSQL in the fast path's read
of the trade (``user_auth.LookUpInStatement``), else in its own thread (``authenticate``), with
the same answers as every endpoint behind ``current_user`` either way: no credentials, a wrong,
revoked or expired token, an ended session, a cabinet session without its CSRF token; and a
refused caller hears nothing about the trade."""

from __future__ import annotations

import secrets

import pytest

from amanah.core import limits
from amanah.core.clock import clock
from amanah.core.db import run_in_transaction
from amanah.trades import service as trades
from amanah.users import service as users


def _pay(market, trade_id: str, headers: dict | None = None):
    return market.client.post(f"/v1/trades/{trade_id}/pay", json={"source": "balance"}, headers=headers or {})


def _error(response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


def test_no_credentials_or_a_wrong_token_is_a_401_and_nothing_is_paid(market):
    trade = market.open_trade(1500)
    market.fund(trade["buyer"]["user_id"], 1500)

    assert _error(_pay(market, trade["id"])) == (401, "missing_credentials")
    assert _error(_pay(market, trade["id"], {"Authorization": "Bearer ut_wrong"})) == (401, "invalid_token")
    assert market.wallet(trade["buyer"]["user_id"]).available == 1500


def test_a_cabinet_session_pays_with_its_csrf_token_only(market):
    trade = market.open_trade(1500)
    buyer = trade["buyer"]["user_id"]
    market.fund(buyer, 1500)
    session = run_in_transaction(market.engine, lambda c: users.start_session(c, buyer, now=clock.now()))
    market.client.cookies.set("amanah_session", session.session_id)
    try:
        assert _error(_pay(market, trade["id"])) == (403, "csrf_failed")
        assert market.wallet(buyer).available == 1500
        paid = _pay(market, trade["id"], {"X-CSRF-Token": session.csrf_token})
        assert paid.status_code == 200 and paid.json()["status"] == "held", paid.text

        run_in_transaction(market.engine, lambda c: users.end_session(c, session.session_id, now=clock.now()))
        assert _error(_pay(market, trade["id"], {"X-CSRF-Token": session.csrf_token})) == (401, "session_expired")
    finally:
        market.client.cookies.clear()


@pytest.fixture(params=["fast path", "the long way"])
def way(request, monkeypatch) -> str:
    """Each test twice: as the endpoint pays (on PostgreSQL the fast path's read looks the caller
    up), and with the fast path declining before it reads (``authenticate`` does)."""
    if request.param == "the long way":
        monkeypatch.setattr(trades, "pay_from_balance_at_once", lambda *_args, **_kwargs: None)
    return request.param


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_a_token_nobody_holds_is_a_401_whether_or_not_the_trade_exists(market, way):
    trade = market.open_trade(1500)
    market.fund(trade["buyer"]["user_id"], 1500)
    unknown = _bearer("ut_" + secrets.token_urlsafe(32))

    assert _error(_pay(market, trade["id"], unknown)) == (401, "invalid_token")
    assert _error(_pay(market, "trd_none", unknown)) == (401, "invalid_token")
    assert market.wallet(trade["buyer"]["user_id"]).available == 1500


def test_a_revoked_or_expired_token_is_a_401_and_nothing_is_paid(market, way):
    trade = market.open_trade(1500)
    buyer = trade["buyer"]["user_id"]
    market.fund(buyer, 1500)
    revoked = market.token_for(buyer)
    token = revoked["Authorization"].removeprefix("Bearer ")
    run_in_transaction(market.engine, lambda c: users.revoke_access_token(c, token, now=clock.now()))
    expiring = market.token_for(buyer)

    assert _error(_pay(market, trade["id"], revoked)) == (401, "invalid_token")
    market.advance(limits.ACCESS_TOKEN_TTL_S + 1)
    assert _error(_pay(market, trade["id"], expiring)) == (401, "invalid_token")
    assert market.wallet(buyer).available == 1500


def test_another_users_token_finds_no_such_trade(market, way):
    trade = market.open_trade(1500)
    market.fund(trade["buyer"]["user_id"], 1500)
    someone_else = market.open_trade(1500)["buyer"]["user_id"]

    assert _error(_pay(market, trade["id"], market.token_for(someone_else))) == (404, "not_found")
    assert market.wallet(trade["buyer"]["user_id"]).available == 1500

