"""A process dying between marking a trade as being paid by card and starting the charge: no
charge exists for the charge-recovery job to settle, and the mark refuses every new payment
(``payment_in_progress``). ``trades.fail_unstarted_payments`` takes it off after
``TRADE_PAYMENT_UNSTARTED_FAIL_AFTER_S`` (payment ``failed``, ``not_started``): nothing was
charged, and the buyer can pay again."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import sqlalchemy as sa

from amanah.cards.models import charges
from amanah.core import limits
from amanah.core.clock import clock
from amanah.core.db import run_in_transaction
from amanah.core.errors import AppError
from amanah.trades.service import pay


def bind(market, buyer: dict, number: str = "4242424242424242") -> str:
    card = market.client.post("/v1/me/cards", json={"number": number, "exp_month": 12, "exp_year": 2031, "cvc": "123",
                                                     "holder_name": "Ivan Petrov"}, headers=buyer)
    assert card.status_code == 201, card.text
    return card.json()["id"]


def mark_then_crash(market, settings, engine, trade: dict, card_id: str):
    """Runs the payment's first step (committed), then stops as a killed process would."""
    request = pay.PayRequest(card_id)
    amount = run_in_transaction(engine, lambda c: pay._start_payment(
        c, settings, trade["id"], trade["buyer"]["user_id"], request, clock.now()))
    return request, amount


def charges_for(engine, trade_id: str) -> list:
    with engine.connect() as connection:
        return connection.execute(sa.select(charges.c.id, charges.c.status).where(
            charges.c.purpose == f"trade:{trade_id}")).all()


def test_a_payment_whose_charge_never_started_fails_after_the_limit_and_can_be_paid_again(market, settings, engine):
    trade = market.open_trade(2599)
    buyer = market.token_for(trade["buyer"]["user_id"])
    card_id = bind(market, buyer)
    mark_then_crash(market, settings, engine, trade, card_id)
    url = f"/v1/trades/{trade['id']}"
    again = market.client.post(f"{url}/pay", json={"source": card_id}, headers=buyer)
    assert again.status_code == 409 and again.json()["error"]["code"] == "payment_in_progress"

    market.advance(limits.TRADE_PAYMENT_UNSTARTED_FAIL_AFTER_S - 60)
    assert market.client.get(url, headers=buyer).json()["payment"]["status"] == "processing"  # not yet
    assert market.advance(61)["jobs_run"]["trades.fail_unstarted_payments"] >= 1
    failed = market.client.get(url, headers=buyer).json()
    assert failed["status"] == "awaiting_payment"
    assert (failed["payment"]["status"], failed["payment"]["failure_code"]) == ("failed", "not_started")
    assert charges_for(engine, trade["id"]) == [] and failed["held_amount"] == 0

    paid = market.client.post(f"{url}/pay", json={"source": card_id}, headers=buyer)
    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "held" and paid.json()["payment"]["status"] == "succeeded"
    assert [status for _, status in charges_for(engine, trade["id"])] == ["succeeded"]
    market.advance(limits.TRADE_PAYMENT_UNSTARTED_FAIL_AFTER_S + 1)  # the job leaves a charged payment alone
    assert market.client.get(url, headers=buyer).json()["payment"]["status"] == "succeeded"
    market.verify()


def test_a_slow_first_run_after_the_job_gave_up_charges_nothing(market, settings, engine):
    """The charge's first transaction links it only to a payment still waiting for it."""
    trade = market.open_trade(1500)
    buyer_id = trade["buyer"]["user_id"]
    card_id = bind(market, market.token_for(buyer_id))
    request, amount = mark_then_crash(market, settings, engine, trade, card_id)
    later = clock.now() + timedelta(seconds=limits.TRADE_PAYMENT_UNSTARTED_FAIL_AFTER_S + 1)
    assert pay.fail_unstarted_payments(engine, now=later, older_than_s=limits.TRADE_PAYMENT_UNSTARTED_FAIL_AFTER_S,
                                       limit=limits.UNSTARTED_FAILED_PER_RUN_MAX) >= 1
    with pytest.raises(AppError) as raised:
        pay._charge_for_payment(engine, settings, trade["id"], buyer_id, request, amount, clock.now())
    assert raised.value.code == "payment_not_started"
    with engine.connect() as connection:
        after = pay.load(connection, trade["id"])
    assert (after.payment_status, after.payment_failure_code, after.charge_id) == ("failed", "not_started", None)
    assert charges_for(engine, trade["id"]) == []
    market.verify()


@pytest.mark.postgres_only
def test_the_charge_starting_and_the_job_at_once_end_one_way_or_the_other(market, settings, engine):
    for _ in range(6):
        trade = market.open_trade(1500)
        buyer_id = trade["buyer"]["user_id"]
        card_id = bind(market, market.token_for(buyer_id))
        request, amount = mark_then_crash(market, settings, engine, trade, card_id)
        later = clock.now() + timedelta(seconds=limits.TRADE_PAYMENT_UNSTARTED_FAIL_AFTER_S + 1)
        barrier = threading.Barrier(2)

        def start():
            barrier.wait()
            try:
                return pay._charge_for_payment(engine, settings, trade["id"], buyer_id, request, amount, clock.now())
            except AppError as error:
                return error

        def job():
            barrier.wait()
            return pay.fail_unstarted_payments(engine, now=later,
                                               older_than_s=limits.TRADE_PAYMENT_UNSTARTED_FAIL_AFTER_S,
                                               limit=limits.UNSTARTED_FAILED_PER_RUN_MAX)

        with ThreadPoolExecutor(2) as pool:
            started, _ = [future.result() for future in [pool.submit(start), pool.submit(job)]]
        with engine.connect() as connection:
            after = pay.load(connection, trade["id"])
        found = charges_for(engine, trade["id"])
        if after.payment_status == "succeeded":
            assert after.status.value == "held" and [status for _, status in found] == ["succeeded"]
        else:
            assert (after.payment_status, after.payment_failure_code) == ("failed", "not_started")
            assert found == [] and after.held_amount == 0
            assert isinstance(started, AppError) and started.code == "payment_not_started"
    market.verify()
