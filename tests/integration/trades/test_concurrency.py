"""Real parallel connections on PostgreSQL: the same trade paid twice at once, confirmed and
refunded at once — one wins each race, nothing is applied twice, the books balance."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from amanah.core.clock import clock
from amanah.core.db import run_in_transaction
from amanah.core.errors import AppError
from amanah.trades import service as trades

pytestmark = pytest.mark.postgres_only

ROUNDS = 8


def race(*calls):
    """Runs the calls at the same instant; each result is the value or the AppError raised."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        try:
            return call()
        except AppError as error:
            return error

    with ThreadPoolExecutor(len(calls)) as pool:
        return [future.result() for future in [pool.submit(run, call) for call in calls]]


def test_a_trade_paid_twice_at_once_is_paid_once(market, engine, settings):
    for _ in range(ROUNDS):
        trade = market.open_trade(1000)
        buyer_id = trade["buyer"]["user_id"]
        market.fund(buyer_id, 5000)

        def pay():
            return run_in_transaction(engine, lambda c: trades.pay_from_balance(
                c, settings, trade["id"], buyer_id, trades.PayRequest("balance"), now=clock.now()))

        results = race(pay, pay, pay)
        assert sum(isinstance(r, trades.Trade) for r in results) == 1, results
        assert all(isinstance(r, trades.Trade) or r.http_status == 409 for r in results)
        assert market.wallet(buyer_id).available == 4000
    market.verify()


def test_confirm_and_refund_at_once_never_pay_twice(market, engine):
    for _ in range(ROUNDS):
        trade, _ = market.paid_trade(1000)
        buyer_id = trade["buyer"]["user_id"]
        seller_before = market.wallet(market.seller["user_id"])
        confirm = lambda: run_in_transaction(engine, lambda c: trades.confirm(c, trade["id"], buyer_id, now=clock.now()))  # noqa: E731
        refund = lambda: run_in_transaction(engine, lambda c: trades.refund(c, trade["id"], amount=1000, reason="race", now=clock.now()))  # noqa: E731
        confirmed, refunded = race(confirm, refund)
        final = run_in_transaction(engine, lambda c: trades.load(c, trade["id"]))
        buyer_back = market.wallet(buyer_id).available
        seller_after = market.wallet(market.seller["user_id"])
        if isinstance(refunded, AppError):  # confirmed first, and the seller could not refund
            assert final.status.value == "completed" and buyer_back == 0
        else:  # refunded out of escrow, or confirmed then refunded from the seller's balance
            assert final.status.value == "refunded" and buyer_back == 1000
            assert seller_after.available == seller_before.available
        assert final.refunded_amount in (0, 1000) and final.held_amount == 0
        assert seller_after.credits_pending == seller_before.credits_pending - 1000
    market.verify()
