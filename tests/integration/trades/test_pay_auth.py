"""The pay endpoint looks its user up in its own thread (``user_auth.authenticate``, issue #10),
with the same answers as every endpoint behind ``current_user``: no credentials, a wrong token,
an ended session, a cabinet session without its CSRF token."""

from __future__ import annotations

from amanah.core.clock import clock
from amanah.core.db import run_in_transaction
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
