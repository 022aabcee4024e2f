"""Paying with an Idempotency-Key: on PostgreSQL the fast path's one statement stores the answer
with the payment (``idempotency.answered_with``), so that the payment and the answer a retry gets
are committed together; what the fast path leaves to the transaction is stored by the
middleware, as any endpoint's answer. The pay endpoint writes its answer itself, as FastAPI
would."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from amanah.api import idempotency
from amanah.core.errors import CommitOutcomeUnknown
from amanah.trades import service as trades


@pytest.fixture
def market(market):
    """A market whose first payment has been made (it opens the seller's wallet)."""
    market.paid_trade(1500)
    return market


def payable(market, funds: int = 1500) -> tuple[str, dict]:
    trade = market.open_trade(1500)
    market.fund(trade["buyer"]["user_id"], funds)
    return trade["id"], market.token_for(trade["buyer"]["user_id"])


def pay(market, trade_id: str, headers: dict, key: str):
    return market.client.post(f"/v1/trades/{trade_id}/pay", json={"source": "balance"},
                              headers=headers | {"Idempotency-Key": key})


def kept(market, key: str) -> dict:
    with market.engine.connect() as connection:
        return connection.execute(sa.select(idempotency.keys).where(idempotency.keys.c.key == key)).one()._asdict()


def held_transfers(market, trade_id: str) -> int:
    from amanah.ledger.models import transfers

    with market.engine.connect() as connection:
        return connection.execute(sa.select(sa.func.count()).select_from(transfers)
                                  .where(transfers.c.reference == trade_id)).scalar_one()


def test_the_answer_is_what_fastapi_writes_for_the_trade(market):
    trade_id, buyer = payable(market)

    paid = market.client.post(f"/v1/trades/{trade_id}/pay", json={"source": "balance"}, headers=buyer)
    shown = market.client.get(f"/v1/trades/{trade_id}", headers=buyer)

    assert paid.status_code == 200 and paid.headers["content-type"] == "application/json", paid.text
    assert paid.content == shown.content  # GET's body is FastAPI's own serialization of the same model


@pytest.mark.postgres_only
class TestStoredByThePaymentsOwnStatement:
    def test_the_key_holds_the_answer_sent_and_a_repeat_replays_it(self, market):
        trade_id, buyer = payable(market)

        first = pay(market, trade_id, buyer, "pay-stored-1")
        row = kept(market, "pay-stored-1")
        again = pay(market, trade_id, buyer, "pay-stored-1")

        assert first.status_code == 200 and first.json()["status"] == "held", first.text
        assert (row["response_status"], row["response_body"], row["lease_token"]) == (200, first.content, None)
        assert row["response_headers"] == [["content-type", "application/json"]]
        assert again.status_code == 200 and again.content == first.content
        assert again.headers["idempotent-replayed"] == "true"
        assert held_transfers(market, trade_id) == 1
        market.verify()

    def test_a_payment_whose_answer_was_lost_after_its_write_is_answered_on_retry(self, market, monkeypatch):
        """The write committed, then the connection went (the outcome is unknown: 503). The answer
        was committed with the payment, so a retry gets it instead of a 409 until the lease ends."""
        trade_id, buyer = payable(market)
        made = trades.pay_from_balance_at_once

        def committed_then_lost(*args, **kwargs):
            made(*args, **kwargs)
            raise CommitOutcomeUnknown("The connection was lost after the write (a test).")

        monkeypatch.setattr(trades, "pay_from_balance_at_once", committed_then_lost)
        lost = pay(market, trade_id, buyer, "pay-stored-2")
        monkeypatch.undo()
        retry = pay(market, trade_id, buyer, "pay-stored-2")

        assert lost.status_code == 503 and lost.json()["error"]["code"] == CommitOutcomeUnknown.code, lost.text
        assert retry.status_code == 200 and retry.headers["idempotent-replayed"] == "true", retry.text
        assert retry.json()["status"] == "held"
        assert held_transfers(market, trade_id) == 1
        market.verify()

    def test_what_the_fast_path_leaves_to_the_transaction_is_stored_by_the_middleware(self, market):
        short_id, short_buyer = payable(market, funds=1000)
        paid_id, paid_buyer = payable(market)
        assert market.client.post(f"/v1/trades/{paid_id}/pay", json={"source": "balance"},
                                  headers=paid_buyer).status_code == 200

        short = pay(market, short_id, short_buyer, "pay-stored-3")
        twice = pay(market, paid_id, paid_buyer, "pay-stored-4")

        assert short.status_code == 402 and short.json()["error"]["code"] == "insufficient_funds", short.text
        assert twice.status_code == 409, twice.text
        for key, answer in (("pay-stored-3", short), ("pay-stored-4", twice)):
            row = kept(market, key)
            assert (row["response_status"], json.loads(row["response_body"])) == (answer.status_code, answer.json())
            assert pay(market, short_id if key == "pay-stored-3" else paid_id,
                       short_buyer if key == "pay-stored-3" else paid_buyer, key).headers["idempotent-replayed"] == "true"
        assert held_transfers(market, short_id) == 0
