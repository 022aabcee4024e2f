"""What one payment from the balance costs in round trips to PostgreSQL, as the wire sees them
(``tests/round_trips.py``): the token's look-up is one, an Idempotency-Key adds two (claim the
key, store the answer), and the pay transaction does not grow with the platform's webhook
endpoints. Each round trip costs client CPU (psycopg, SQLAlchemy): issue #10."""

from __future__ import annotations

import pytest

from amanah.core.clock import clock
from amanah.core.db import run_in_transaction
from amanah.platforms.webhooks import service as webhooks
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


def pay(market, headers: dict) -> list[str]:
    """Pays a new trade from a funded balance; the round trips of the request, one label each."""
    trade = market.open_trade(1500)
    buyer = trade["buyer"]["user_id"]
    market.fund(buyer, 1500)
    headers = market.token_for(buyer) | headers
    with RoundTrips(market.client.app.state.engine) as trips:
        response = market.client.post(f"/v1/trades/{trade['id']}/pay", json={"source": "balance"}, headers=headers)
    assert response.status_code == 200, response.text
    return trips.labels()


def split(labels: list[str]) -> tuple[list[str], list[str], list[str]]:
    """Before the pay transaction, the transaction (BEGIN to COMMIT), after it."""
    begins = [index for index, label in enumerate(labels) if label.startswith("BEGIN")]
    assert len(begins) == 1 and labels.count("COMMIT") == 1, labels
    begin, commit = begins[0], labels.index("COMMIT")
    return labels[:begin], labels[begin:commit + 1], labels[commit + 1:]


class TestAPaymentsRoundTrips:
    def test_without_a_key_the_token_is_one_look_up_then_the_pay_transaction(self, market):
        labels = pay(market, {})

        before, transaction, after = split(labels)
        assert len(before) == 1 and after == [], labels  # the token's user, in autocommit
        assert len(transaction) <= PAY_TRANSACTION_ROUND_TRIPS_MAX, labels

    def test_an_idempotency_key_adds_one_round_trip_before_and_one_after(self, market):
        without_key = pay(market, {})
        labels = pay(market, {"Idempotency-Key": "pay-round-trips-1"})

        before, transaction, after = split(labels)
        assert len(before) == 2 and len(after) == 1, labels  # claim the key, look the token up; store the answer
        assert len(labels) == len(without_key) + 2, (without_key, labels)
        assert len(transaction) <= PAY_TRANSACTION_ROUND_TRIPS_MAX, labels

    def test_a_repeat_is_answered_from_the_key_in_two_round_trips_and_no_transaction(self, market):
        trade = market.open_trade(1500)
        buyer = trade["buyer"]["user_id"]
        market.fund(buyer, 1500)
        headers = market.token_for(buyer) | {"Idempotency-Key": "pay-round-trips-2"}
        first = market.client.post(f"/v1/trades/{trade['id']}/pay", json={"source": "balance"}, headers=headers)

        with RoundTrips(market.client.app.state.engine) as trips:
            again = market.client.post(f"/v1/trades/{trade['id']}/pay", json={"source": "balance"}, headers=headers)

        assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
        assert trips.count() == 2, trips.labels()  # the claim finds the key; reading it

    def test_the_pay_transaction_does_not_grow_with_the_webhook_endpoints(self, market):
        alone = split(pay(market, {}))[1]

        def add_endpoints(connection):
            for _ in range(3):
                webhooks.create_endpoint(connection, market.platform_id, url="http://127.0.0.1:9/hook",
                                         event_types=["trade.held"], allow_private=True, now=clock.now())

        run_in_transaction(market.engine, add_endpoints)
        with_endpoints = split(pay(market, {}))[1]

        assert len(with_endpoints) == len(alone), (alone, with_endpoints)
