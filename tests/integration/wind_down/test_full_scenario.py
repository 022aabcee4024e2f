"""The whole wind-down, on a database of its own: users with balances, open trades and cards;
the switch; refusals; open trades settle; users withdraw and close; the liabilities reach zero;
the books balance throughout."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from amanah import ledger
from amanah.api.app import create_app
from amanah.cli import app as cli
from amanah.core.clock import clock
from amanah.core.db import create_engine, run_in_transaction
from amanah.ledger import AccountKind, TransferRequest
from tests.integration.trades.conftest import make_market
from tests.integration.wind_down.conftest import CARD, register


@pytest.fixture
def own(settings, fresh_database_url):
    engine = create_engine(fresh_database_url)
    with TestClient(create_app(settings.model_copy(update={"database_url": fresh_database_url}))) as client:
        yield client, engine, fresh_database_url
    engine.dispose()


def withdraw_everything(engine, user_id: str) -> None:
    """What a withdrawal to a card does in the ledger (the wallet's own API is another issue's)."""
    def work(connection):
        now = clock.now()
        for code in ("USD",):
            wallet = ledger.open_account(connection, kind=AccountKind.USER_WALLET, owner_ref=user_id,
                                         currency=code, now=now)
            payout = ledger.open_account(connection, kind=AccountKind.PAYOUT_CLEARING, owner_ref="sandbox_acquirer",
                                         currency=code, now=now)
            if wallet.available:
                ledger.create_transfer(connection, TransferRequest.direct(
                    f"wdr_{user_id}_{code}", debit=wallet.id, credit=payout.id, amount=wallet.available,
                    code="withdrawal"), now=now)

    run_in_transaction(engine, work)


def liabilities(client, market) -> dict:
    response = client.get("/v1/admin/reports/liabilities", headers=market.as_operator)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_service_winds_down_without_anyone_losing_a_cent(own):
    client, engine, url = own
    market = make_market(client, engine)
    saver_email = "saver@example.com"
    saver, saver_headers = register(client, saver_email)
    market.fund(saver, 6000)
    assert client.post("/v1/me/cards", json=CARD, headers=saver_headers).status_code == 201
    confirmed, confirmer = market.paid_trade(1000)
    timed, _ = market.paid_trade(2000)
    refunded, _ = market.paid_trade(1500)
    disputed, disputer = market.paid_trade(500)
    unpaid = market.open_trade(700)
    before = liabilities(client, market)
    usd = before["currencies"]["USD"]
    assert usd["owed_to_users"] == 6000 + 1000 + 2000 + 1500 + 500 and usd["in_escrow"] == 5000
    assert usd["open_trades"] == 5 and before["users_holding_money"] == 6 and not before["users_settled"]

    switched = client.put("/v1/admin/service-mode", json={"mode": "wind_down"}, headers=market.as_operator)
    assert switched.status_code == 200
    assert client.post("/v1/me/cards", json=CARD, headers=saver_headers).status_code == 403
    assert client.post("/v1/users", json={"email": "late@example.com", "password": "correct horse battery staple",
                                          "name": "Late"}).status_code == 403
    assert client.post("/v1/trades", headers=market.as_platform, json={
        "out_trade_no": "late", "seller_id": market.seller["id"], "amount": 1, "currency": "USD", "subject": "x",
        "buyer": {"platform_user_id": "late", "email": "late@example.com"}}).status_code == 403

    # Open trades settle: confirmed, released by the timer, refunded, disputed; the unpaid one expires.
    assert client.post(f"/v1/trades/{confirmed['id']}/confirm", headers=confirmer).json()["status"] == "completed"
    client.post(f"/v1/trades/{timed['id']}/ship", headers=market.as_platform, json={"carrier": "DHL", "tracking_number": "1"})
    assert client.post(f"/v1/trades/{refunded['id']}/refunds", headers=market.as_platform,
                       json={"amount": 1500, "reason": "closing"}).status_code in (200, 201)
    client.post(f"/v1/trades/{disputed['id']}/dispute", headers=disputer, json={"reason": "broken"})
    client.post(f"/v1/trades/{disputed['id']}/dispute/resolve", headers=market.as_platform,
                json={"outcome": "split", "buyer_amount": 200})
    market.advance(16 * 24 * 3600)  # past the 15 days of protection (the clock is shared: no further)
    market.verify()
    for trade in (confirmed, timed, refunded, disputed, unpaid):
        assert client.get(f"/v1/trades/{trade['id']}", headers=market.as_platform).json()["status"] in (
            "completed", "refunded", "closed")
    middle = liabilities(client, market)
    assert middle["open_trades"] == 0 and middle["currencies"]["USD"]["in_escrow"] == 0
    assert middle["currencies"]["USD"]["owed_to_users"] == 11000 - middle["currencies"]["USD"]["owed_to_platforms"]

    # Everyone withdraws, then closes.
    holders = {saver, market.seller["user_id"], *(t["buyer"]["user_id"] for t in (confirmed, timed, refunded, disputed))}
    for user_id in holders:
        withdraw_everything(engine, user_id)
        market.verify()
    after = liabilities(client, market)
    assert after["users_settled"] and after["users_holding_money"] == 0
    assert after["currencies"]["USD"]["owed_to_users"] == 0
    token = client.post("/v1/auth/token", json={"email": saver_email, "password": "correct horse battery staple"})
    saver_headers = {"Authorization": f"Bearer {token.json()['access_token']}"}  # a month passed: log in again
    closed = client.post("/v1/me/close", json={"password": "correct horse battery staple"}, headers=saver_headers)
    assert closed.status_code == 200, closed.text

    printed = CliRunner().invoke(cli, ["report", "liabilities", "--json"], env={"AMANAH_DATABASE_URL": url})
    assert printed.exit_code == 0, printed.output
    assert json.loads(printed.output)["users_settled"] is True
    table = CliRunner().invoke(cli, ["report", "liabilities"], env={"AMANAH_DATABASE_URL": url})
    assert "Settled: no user holds money" in table.output
    verified = CliRunner().invoke(cli, ["ledger", "verify"], env={"AMANAH_DATABASE_URL": url})
    assert verified.exit_code == 0, verified.output
