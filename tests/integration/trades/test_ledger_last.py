"""A trade's money movements call the ledger last, just before COMMIT (``ledger.create_linked``):
it locks the seller's wallet and the platform's fee account until then, and every other payment
to the same seller, and every fee, waits for what would run after it."""

from __future__ import annotations

import sqlalchemy as sa

from amanah.platforms.webhooks.models import events as webhook_events
from tests.statement_order import StatementOrder


def test_a_payment_from_the_balance_holds_the_money_last(market):
    trade = market.open_trade(1500)
    buyer = trade["buyer"]["user_id"]
    market.fund(buyer, 1500)
    headers = market.token_for(buyer)

    with StatementOrder(market.client.app.state.engine) as order:
        paid = market.client.post(f"/v1/trades/{trade['id']}/pay", json={"source": "balance"}, headers=headers)

    assert paid.status_code == 200, paid.text
    order.assert_ledger_is_last()


def test_a_short_balance_rolls_back_the_trades_new_state_and_event(market):
    trade = market.open_trade(1500)
    buyer = trade["buyer"]["user_id"]
    market.fund(buyer, 1499)

    refused = market.client.post(f"/v1/trades/{trade['id']}/pay", json={"source": "balance"},
                                 headers=market.token_for(buyer))

    assert refused.status_code == 402 and refused.json()["error"]["code"] == "insufficient_funds", refused.text
    after = market.client.get(f"/v1/trades/{trade['id']}", headers=market.as_platform).json()
    assert after["status"] == "awaiting_payment" and after["held_amount"] == 0, after
    with market.engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(webhook_events)
                                  .where(webhook_events.c.subject_id == trade["id"],
                                         webhook_events.c.type == "trade.held")).scalar_one() == 0
    assert market.wallet(buyer).available == 1499
    market.verify()


def test_releasing_to_the_seller_posts_and_takes_the_fee_last(market):
    trade, buyer = market.paid_trade(2599, fee={"bps": 250})
    shipped = market.client.post(f"/v1/trades/{trade['id']}/ship", json={"carrier": "DHL", "tracking_number": "JD0001"},
                                 headers=market.as_platform)
    assert shipped.status_code == 200, shipped.text

    with StatementOrder(market.client.app.state.engine) as order:
        done = market.client.post(f"/v1/trades/{trade['id']}/confirm", headers=buyer)

    assert done.status_code == 200 and done.json()["status"] == "completed", done.text
    order.assert_ledger_is_last()
    assert market.fees().credits_posted == 64
