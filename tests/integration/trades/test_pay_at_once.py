"""PostgreSQL's fast path for paying from the balance (``trades.pay_from_balance_at_once``): one
read and one statement that writes the trade, its event and the hold whole, or nothing. It
writes what the transaction (``pay_from_balance``) writes; whatever it cannot decide alone (a
row changed since it was read, a short balance, a wallet not opened yet) it leaves to the
transaction, having written nothing; a connection lost during its write is an unknown outcome."""

from __future__ import annotations

import json
import threading
import time

import pytest
import sqlalchemy as sa

from amanah.core import metrics
from amanah.core.clock import clock
from amanah.core.db import run_in_transaction
from amanah.core.errors import CommitOutcomeUnknown, Conflict, NotFound
from amanah.ledger.models import transfers
from amanah.platforms.webhooks import service as webhooks
from amanah.platforms.webhooks.models import deliveries, events
from amanah.trades import service as trades
from amanah.trades.service import pay as pay_service
from amanah.trades.models import trades as trades_table
from tests.integration.trades.test_concurrency import race

pytestmark = pytest.mark.postgres_only

BALANCE = trades.PayRequest("balance")


@pytest.fixture
def market(market):
    """A market whose seller has a wallet (a first payment opened it) and a subscribed endpoint."""
    market.paid_trade(1500)
    run_in_transaction(market.engine, lambda c: webhooks.create_endpoint(
        c, market.platform_id, url="http://127.0.0.1:9/hook", event_types=["trade.held"], allow_private=True,
        now=clock.now()))
    return market


def payable(market, amount: int = 1500, funds: int = 1500) -> tuple[str, str]:
    trade = market.open_trade(amount)
    market.fund(trade["buyer"]["user_id"], funds)
    return trade["id"], trade["buyer"]["user_id"]


def at_once(market, trade_id: str, buyer: str, request: trades.PayRequest = BALANCE, now=None):
    return trades.pay_from_balance_at_once(market.engine, trade_id, buyer, request, now=now or clock.now())


def the_long_way(market, trade_id: str, buyer: str, now=None):
    return run_in_transaction(market.engine, lambda c: trades.pay_from_balance(
        c, None, trade_id, buyer, BALANCE, now=now or clock.now()))


def written(market, trade_id: str) -> dict:
    """What a payment wrote about this trade: its row, its hold, its events and deliveries,
    with the trade's own id and number taken out (so that two trades can be compared)."""
    with market.engine.connect() as connection:
        row = connection.execute(sa.select(trades_table).where(trades_table.c.id == trade_id)).one()._asdict()
        holds = [r._asdict() for r in connection.execute(
            sa.select(transfers.c.kind, transfers.c.debit_account_id, transfers.c.amount, transfers.c.code,
                      transfers.c.created_at).where(transfers.c.reference == trade_id))]
        payloads = [json.loads(p) for p in connection.execute(
            sa.select(events.c.payload).where(events.c.subject_id == trade_id)).scalars()]
        queued = connection.execute(sa.select(sa.func.count()).select_from(deliveries)
                                    .where(deliveries.c.subject_id == trade_id)).scalar_one()
    text = json.dumps({"row": row, "holds": holds, "events": payloads, "deliveries": queued}, default=str)
    for own in (trade_id, row["out_trade_no"], row["buyer_user_id"], row["buyer_platform_user_id"]):
        text = text.replace(own, "<own>")
    return {**json.loads(text), "buyer_wallet": holds[0]["debit_account_id"] if holds else None}


def nothing_written(market, trade_id: str) -> bool:
    found = written(market, trade_id)
    return found["row"]["status"] == "awaiting_payment" and not found["holds"] and not found["events"]


class TestWhatItWrites:
    def test_the_same_as_the_transaction(self, market):
        now = clock.now()
        fast, fast_buyer = payable(market)
        slow, slow_buyer = payable(market)

        held = at_once(market, fast, fast_buyer, now=now)
        the_long_way(market, slow, slow_buyer, now=now)

        assert held == run_in_transaction(market.engine, lambda c: trades.load(c, fast))
        fast_written, slow_written = written(market, fast), written(market, slow)
        assert fast_written["holds"] and fast_written["events"] and fast_written["deliveries"] == 1
        for found in (fast_written, slow_written):
            found["row"]["created_at"] = found["row"]["expires_at"] = found["buyer_wallet"] = None
            found["holds"][0]["debit_account_id"] = None
            for payload in found["events"]:
                payload["data"]["created_at"] = payload["data"]["expires_at"] = None
        assert fast_written == slow_written

    def test_the_transfer_is_counted_once(self, market):
        trade_id, buyer = payable(market)
        before = metrics.TRANSFERS_COMMITTED.labels("pending")._value.get()

        assert at_once(market, trade_id, buyer) is not None

        assert metrics.TRANSFERS_COMMITTED.labels("pending")._value.get() == before + 1


class TestWhatItLeavesToTheTransaction:
    def test_a_row_changed_since_it_was_read(self, market, monkeypatch):
        trade_id, buyer = payable(market)
        read = pay_service._read_payable(None).rows

        def read_then_change_the_row(connection, values):  # once the fast path has read it
            rows = read(connection, values)
            with market.engine.connect() as other, other.begin():
                other.execute(trades_table.update().where(trades_table.c.id == trade_id)
                              .values(updated_at=trades_table.c.updated_at))
            return rows

        monkeypatch.setattr(pay_service._read_payable(None), "rows", read_then_change_the_row)
        assert at_once(market, trade_id, buyer) is None

        assert nothing_written(market, trade_id)
        assert the_long_way(market, trade_id, buyer).status.value == "held"

    def test_a_short_balance(self, market):
        trade_id, buyer = payable(market, amount=1500, funds=1499)

        assert at_once(market, trade_id, buyer) is None

        assert nothing_written(market, trade_id)
        refused = market.client.post(f"/v1/trades/{trade_id}/pay", json={"source": "balance"},
                                     headers=market.token_for(buyer))
        assert refused.status_code == 402 and refused.json()["error"]["code"] == "insufficient_funds", refused.text
        assert nothing_written(market, trade_id)

    def test_a_seller_without_a_wallet_yet(self, market, client, engine):
        from tests.integration.trades.conftest import make_market

        new_market = make_market(client, engine, name="New Bazaar")
        trade_id, buyer = payable(new_market)

        assert at_once(new_market, trade_id, buyer) is None

        assert nothing_written(new_market, trade_id)
        paid = new_market.client.post(f"/v1/trades/{trade_id}/pay", json={"source": "balance"},
                                      headers=new_market.token_for(buyer))
        assert paid.status_code == 200 and paid.json()["status"] == "held", paid.text

    def test_another_currency_or_a_quote(self, market):
        trade_id, buyer = payable(market)

        assert at_once(market, trade_id, buyer, trades.PayRequest("balance", pay_currency="EUR")) is None
        assert at_once(market, trade_id, buyer, trades.PayRequest("balance", quote_id="qt_x")) is None
        assert nothing_written(market, trade_id)


class TestRefusals:
    def test_another_buyers_trade_is_not_found_as_in_the_transaction(self, market):
        trade_id, _buyer = payable(market)
        _other, stranger = payable(market)

        with pytest.raises(NotFound) as fast:
            at_once(market, trade_id, stranger)
        with pytest.raises(NotFound) as slow:
            the_long_way(market, trade_id, stranger)
        assert str(fast.value) == str(slow.value)
        with pytest.raises(NotFound):
            at_once(market, "trd_missing", stranger)

    def test_a_paid_trade_is_a_conflict_as_in_the_transaction(self, market):
        trade_id, buyer = payable(market, funds=3000)
        at_once(market, trade_id, buyer)

        with pytest.raises(Conflict) as fast:
            at_once(market, trade_id, buyer)
        with pytest.raises(Conflict) as slow:
            the_long_way(market, trade_id, buyer)
        assert fast.value.code == slow.value.code == "trade_status_conflict"
        assert len(written(market, trade_id)["holds"]) == 1


def test_paid_at_once_from_three_places_it_is_paid_once(market):
    for _ in range(5):
        trade_id, buyer = payable(market, funds=5000)

        def pay():  # as the API pays
            return at_once(market, trade_id, buyer) or the_long_way(market, trade_id, buyer)

        results = race(pay, pay, pay)
        assert sum(isinstance(r, trades.Trade) for r in results) == 1, results
        assert all(isinstance(r, trades.Trade) or r.http_status == 409 for r in results)
        assert market.wallet(buyer).available == 3500
        assert len(written(market, trade_id)["events"]) == 1
    market.verify()


def test_a_connection_lost_during_the_write_is_an_unknown_outcome(market):
    trade_id, buyer = payable(market)
    outcome = []
    with market.engine.connect() as locker, locker.begin(), \
            market.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as watcher:
        # The write waits for this lock (a lock changes nothing in the row), and is cut off there.
        locker.execute(sa.select(trades_table.c.id).where(trades_table.c.id == trade_id).with_for_update())
        paying = threading.Thread(target=lambda: outcome.append(_raised(lambda: at_once(market, trade_id, buyer))))
        paying.start()
        deadline = time.monotonic() + 10
        while not watcher.execute(sa.text(  # (autocommit: a transaction sees pg_stat_activity once)
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND query LIKE 'WITH paid%'")).first():
            assert time.monotonic() < deadline, "the write never waited for the lock"
            time.sleep(0.01)
    paying.join(10)

    assert isinstance(outcome[0], CommitOutcomeUnknown), outcome
    assert nothing_written(market, trade_id)  # (it was cut off before its commit, this time)


def _raised(call):
    try:
        return call()
    except Exception as error:  # noqa: BLE001 - the outcome is what is checked
        return error
