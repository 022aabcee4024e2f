"""What one payment from the balance costs in round trips to PostgreSQL, as the wire sees them
(``tests/round_trips.py``): the fast path's read, which looks the token up too, and its write
(``trades.pay_from_balance_at_once``), no transaction; an Idempotency-Key adds none (the write
records the key with its answer). The long way (``pay_from_balance`` in a transaction, where the fast
path leaves it) stays bounded and does not grow with the platform's webhook endpoints. Each
round trip costs client and server CPU: issue #10."""

from __future__ import annotations

import pytest

from amanah.core.clock import clock
from amanah.core.db import run_in_transaction
from amanah.platforms.webhooks import service as webhooks
from amanah.trades import service as trades
from tests.round_trips import RoundTrips

pytestmark = pytest.mark.postgres_only

PAY_TRANSACTION_ROUND_TRIPS_MAX = 7
"""BEGIN, the trade, the accounts, the hold (one call of ledger_transfer_one), the trade's new
state, the webhook event and its deliveries, COMMIT: as measured when this was written."""


@pytest.fixture
def market(market):
    """A market whose first payment has been made (it opens the platform's ledger accounts)."""
    market.paid_trade(1500)
    return market


def payable(market) -> tuple[str, str]:
    trade = market.open_trade(1500)
    market.fund(trade["buyer"]["user_id"], 1500)
    return trade["id"], trade["buyer"]["user_id"]


def pay(market, headers: dict) -> list[str]:
    """Pays a new trade from a funded balance; the round trips of the request, one label each."""
    trade_id, buyer = payable(market)
    headers = market.token_for(buyer) | headers
    with RoundTrips(market.client.app.state.engine) as trips:
        response = market.client.post(f"/v1/trades/{trade_id}/pay", json={"source": "balance"}, headers=headers)
    assert response.status_code == 200, response.text
    return trips.labels()


def the_long_way(market) -> list[str]:
    """The round trips of ``pay_from_balance`` in its transaction, from BEGIN to COMMIT."""
    trade_id, buyer = payable(market)
    engine = market.client.app.state.engine
    with RoundTrips(engine) as trips:
        run_in_transaction(engine, lambda c: trades.pay_from_balance(
            c, None, trade_id, buyer, trades.PayRequest("balance"), now=clock.now()))
    labels = trips.labels()
    assert labels[0].startswith("BEGIN") and labels[-1] == "COMMIT", labels
    return labels


class TestAPaymentsRoundTrips:
    def test_without_a_key_the_fast_paths_read_looks_the_token_up_then_its_write(self, market):
        labels = pay(market, {})

        assert [label.split()[0] for label in labels] == ["SELECT", "WITH"], labels
        assert labels[0].startswith("SELECT (SELECT user_tokens.user_id") and labels[1].startswith("WITH paid"), labels

    def test_the_long_way_looks_the_token_up_on_its_own(self, market, monkeypatch):
        monkeypatch.setattr(trades, "pay_from_balance_at_once", lambda *_args, **_kwargs: None)
        labels = pay(market, {})

        assert "users" in labels[0] and "trades" not in labels[0] and labels[1].startswith("BEGIN"), labels

    def test_an_idempotency_key_adds_none_the_write_records_it_with_the_answer(self, market):
        without_key = pay(market, {})
        labels = pay(market, {"Idempotency-Key": "pay-round-trips-1"})

        assert labels == without_key, (without_key, labels)

    def test_a_repeat_is_answered_from_the_key_in_three_round_trips_and_no_transaction(self, market):
        trade = market.open_trade(1500)
        buyer = trade["buyer"]["user_id"]
        market.fund(buyer, 1500)
        headers = market.token_for(buyer) | {"Idempotency-Key": "pay-round-trips-2"}
        first = market.client.post(f"/v1/trades/{trade['id']}/pay", json={"source": "balance"}, headers=headers)

        with RoundTrips(market.client.app.state.engine) as trips:
            again = market.client.post(f"/v1/trades/{trade['id']}/pay", json={"source": "balance"}, headers=headers)

        assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
        labels = trips.labels()
        assert [label.split()[0] for label in labels] == ["SELECT", "INSERT", "SELECT"], labels
        # the token with the trade, paid already; the claim finds the key; reading it

    def test_the_long_way_is_bounded_and_does_not_grow_with_the_webhook_endpoints(self, market):
        alone = the_long_way(market)

        def add_endpoints(connection):
            for _ in range(3):
                webhooks.create_endpoint(connection, market.platform_id, url="http://127.0.0.1:9/hook",
                                         event_types=["trade.held"], allow_private=True, now=clock.now())

        run_in_transaction(market.engine, add_endpoints)
        with_endpoints = the_long_way(market)

        assert len(alone) <= PAY_TRANSACTION_ROUND_TRIPS_MAX, alone
        assert len(with_endpoints) == len(alone), (alone, with_endpoints)
