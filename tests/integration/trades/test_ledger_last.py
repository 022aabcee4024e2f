"""The ledger is a money-moving transaction's last statement (``trades/service/common.py``): it
locks wallets and the platform's fee account until COMMIT, and every other payment to the same
seller, and every fee, waits for what would run after it. Statements are recorded as the engine
sends them, the ledger's own (``ledger.service.create_transfers``) as one mark around them."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from amanah.ledger import service as ledger_service
from amanah.platforms.webhooks.models import events as webhook_events


@pytest.fixture
def sent(market, monkeypatch):
    """What the app's engine runs, in order: statements, ``ledger`` and ``COMMIT``."""
    engine = market.client.app.state.engine
    record: list[str] = []
    ledger_running = []

    def statement(_connection, _cursor, text, *_args) -> None:
        if not ledger_running:
            record.append(" ".join(text.split()[:3]))

    def commit(_connection) -> None:
        record.append("COMMIT")

    original = ledger_service.create_transfers

    def create_transfers(*args, **kwargs):
        ledger_running.append(1)
        try:
            return original(*args, **kwargs)
        finally:
            ledger_running.pop()
            record.append("ledger")

    monkeypatch.setattr(ledger_service, "create_transfers", create_transfers)
    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "commit", commit)
    yield record
    event.remove(engine, "before_cursor_execute", statement)
    event.remove(engine, "commit", commit)


def _followed_by_commit(record: list[str]) -> None:
    assert "ledger" in record, record
    for index, label in enumerate(record):
        if label == "ledger":
            assert record[index + 1] == "COMMIT", record


def test_a_payment_from_the_balance_holds_the_money_last(market, sent):
    trade = market.open_trade(1500)
    buyer = trade["buyer"]["user_id"]
    market.fund(buyer, 1500)
    headers = market.token_for(buyer)
    sent.clear()

    paid = market.client.post(f"/v1/trades/{trade['id']}/pay", json={"source": "balance"}, headers=headers)

    assert paid.status_code == 200, paid.text
    _followed_by_commit(sent)


def test_a_short_balance_rolls_back_the_trades_new_state_and_event(market, sent):
    trade = market.open_trade(1500)
    buyer = trade["buyer"]["user_id"]
    market.fund(buyer, 1499)
    headers = market.token_for(buyer)

    refused = market.client.post(f"/v1/trades/{trade['id']}/pay", json={"source": "balance"}, headers=headers)

    assert refused.status_code == 402 and refused.json()["error"]["code"] == "insufficient_funds", refused.text
    after = market.client.get(f"/v1/trades/{trade['id']}", headers=market.as_platform).json()
    assert after["status"] == "awaiting_payment" and after["held_amount"] == 0, after
    with market.engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(webhook_events)
                                  .where(webhook_events.c.subject_id == trade["id"],
                                         webhook_events.c.type == "trade.held")).scalar_one() == 0
    assert market.wallet(buyer).available == 1499
    market.verify()


def test_releasing_to_the_seller_posts_and_takes_the_fee_last(market, sent):
    trade, buyer = market.paid_trade(2599, fee={"bps": 250})
    shipped = market.client.post(f"/v1/trades/{trade['id']}/ship", json={"carrier": "DHL", "tracking_number": "JD0001"},
                                 headers=market.as_platform)
    assert shipped.status_code == 200, shipped.text
    sent.clear()

    done = market.client.post(f"/v1/trades/{trade['id']}/confirm", headers=buyer)

    assert done.status_code == 200 and done.json()["status"] == "completed", done.text
    _followed_by_commit(sent)
    assert market.fees().credits_posted == 64
