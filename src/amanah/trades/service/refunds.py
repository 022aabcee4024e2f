"""Refunds, full or partial: out of escrow before completion; after it, back from the seller and
from the platform's fee account in proportion to what the trade paid each (Stripe Connect's
reverse transfer with an application-fee refund). Never more than was paid in total, never more
from either side than the trade gave it. Each refund is its own record (``ref_…``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from amanah import ledger
from amanah.cards import charges
from amanah.cards.connectors import OperationStatus
from amanah.core.config import Settings
from amanah.core.db import run_in_transaction
from amanah.core.errors import Conflict, InvalidRequest
from amanah.core.ids import new_id
from amanah.ledger import TransferRequest
from amanah.ledger.types import TransferResult
from amanah.trades.models import refunds
from amanah.money import Money, currency
from amanah.trades.service.common import (
    Trade,
    account_ids,
    clearing_account,
    emit,
    fee_account,
    load,
    save,
    wallet,
)
from amanah.trades.states import ESCROW_STATES, TradeStatus, check_transition


def refund(connection: Connection, trade_id: str, *, amount: int, reason: str, now: datetime,
           refund_id: str | None = None) -> tuple[Trade, dict]:
    """Refunds ``amount`` to the buyer; the caller checked who may refund. ``refund_id`` (derived
    from the request's idempotency key) makes a request run again find its first refund
    instead of refunding twice."""
    trade = load(connection, trade_id, for_update=True)
    if refund_id is not None:
        done = connection.execute(sa.select(refunds).where(refunds.c.id == refund_id)).first()
        if done is not None:
            if done.trade_id != trade.id or done.amount != amount:
                raise Conflict("This idempotency key was used for another refund.", code="refund_key_reused")
            return trade, dict(done._mapping)
    if trade.status not in ESCROW_STATES | {TradeStatus.COMPLETED}:
        check_transition(trade.status, TradeStatus.REFUNDED, "refunded")
    refundable = trade.amount - trade.refunded_amount
    if type(amount) is not int or not 0 < amount <= refundable:
        raise InvalidRequest(f"The refund must be 1 to {refundable} (what is left of the {trade.amount} paid).",
                             code="refund_exceeds_paid", param="amount")
    refund_id = refund_id or new_id("ref")
    shares = {"seller_amount": None, "fee_refund_amount": None}
    if trade.status in ESCROW_STATES:
        trade = _refund_from_escrow(connection, trade, refund_id, amount, now)
        source = "escrow"
    else:
        seller_amount, fee_refund_amount = _refund_from_seller(connection, trade, refund_id, amount, now)
        shares = {"seller_amount": seller_amount, "fee_refund_amount": fee_refund_amount}
        source = "seller_balance"
    destination, status_of_refund = "balance", "succeeded"
    if _paid_by_charge(trade):
        _reserve_for_source(connection, trade, refund_id, amount, now)
        destination, status_of_refund = "source", "processing"
    refunded_amount = trade.refunded_amount + amount
    status = TradeStatus.REFUNDED if refunded_amount == trade.amount else trade.status
    if status is TradeStatus.REFUNDED:
        check_transition(trade.status, status, "refunded")
    record = {"id": refund_id, "trade_id": trade.id, "amount": amount, "currency": trade.currency,
              "reason": reason.strip()[:500] or "requested", "source": source, "destination": destination,
              "status": status_of_refund, **shares, "created_at": now, "updated_at": now}
    connection.execute(refunds.insert().values(record))
    updated = save(connection, trade, now, refunded_amount=refunded_amount, status=status,
                   release_at=None if status is TradeStatus.REFUNDED else trade.release_at)
    emit(connection, updated, "trade.refunded", now,
         refund={"id": refund_id, "amount": amount, "source": source, **shares})
    return updated, record


def _paid_by_charge(trade: Trade) -> bool:
    """Paid by card or e-wallet in the trade's own currency: the refund goes back there. (Paid
    from the balance, or in another currency, it stays on the buyer's balance.)"""
    return bool(trade.charge_id) and trade.payment_source != "balance" and trade.pay_currency == trade.currency


def _reserve_for_source(connection: Connection, trade: Trade, refund_id: str, amount: int, now: datetime) -> None:
    """Holds the refunded money on its way back to the card, so the buyer cannot spend it while
    the acquirer is asked; posted when the acquirer refunds, voided (it stays) if it refuses."""
    charge = charges.get_charge(connection, trade.charge_id)
    buyer_wallet, clearing = account_ids(connection, now, wallet(trade.buyer_user_id, trade.currency),
                                         clearing_account(charge.connector, trade.currency))
    ledger.create_transfer(connection, TransferRequest.pending(
        f"{refund_id}:to_source", debit=buyer_wallet, credit=clearing, amount=amount,
        code="refund_to_source", reference=trade.id), now=now)


def finish_refund_to_source(engine: Engine, settings: Settings, refund_id: str, *, now: datetime) -> dict:
    """Asks the card acquirer or e-wallet to refund, outside any transaction, then posts or voids
    the reservation. Safe to run again (the recovery job does, after a crash)."""
    with engine.connect() as connection:
        record = dict(connection.execute(sa.select(refunds).where(refunds.c.id == refund_id)).one()._mapping)
        trade = load(connection, record["trade_id"])
    if record["status"] != "processing":
        return record
    operation = charges.refund_charge(engine, settings, charge_id=trade.charge_id, refund_id=refund_id,
                                      amount=Money(record["amount"], currency(record["currency"])))
    if operation is None:
        return record  # unknown outcome: the job asks again later
    return run_in_transaction(engine, lambda c: _settle_refund(c, refund_id, operation, now))


def _settle_refund(connection: Connection, refund_id: str, operation, now: datetime) -> dict:
    locked = connection.execute(sa.select(refunds).where(refunds.c.id == refund_id).with_for_update()).one()
    if locked.status != "processing":
        return dict(locked._mapping)
    succeeded = operation.status is OperationStatus.SUCCEEDED
    request = (TransferRequest.post if succeeded else TransferRequest.void)(
        f"{refund_id}:{'sent' if succeeded else 'kept'}", pending_id=f"{refund_id}:to_source",
        code="refund_to_source", reference=locked.trade_id)
    ledger.create_transfer(connection, request, now=now)
    connection.execute(refunds.update().where(refunds.c.id == refund_id).values(
        status="succeeded", destination="source" if succeeded else "balance",
        failure_code=None if succeeded else operation.failure_code, updated_at=now))
    return dict(connection.execute(sa.select(refunds).where(refunds.c.id == refund_id)).one()._mapping)


def finish_refunds_of(engine: Engine, settings: Settings, trade_id: str, *, now: datetime) -> None:
    """Sends on every refund of the trade still waiting for the card network (after a refund or
    a dispute settled in the buyer's favour)."""
    with engine.connect() as connection:
        waiting = connection.execute(sa.select(refunds.c.id).where(
            refunds.c.trade_id == trade_id, refunds.c.status == "processing")).scalars().all()
    for refund_id in waiting:
        finish_refund_to_source(engine, settings, refund_id, now=now)


def finish_stuck_refunds(engine: Engine, settings: Settings, *, now: datetime, older_than_s: float, limit: int) -> int:
    with engine.connect() as connection:
        stuck = connection.execute(sa.select(refunds.c.id).where(
            refunds.c.status == "processing", refunds.c.updated_at < now - timedelta(seconds=older_than_s))
            .limit(limit)).scalars().all()
    for refund_id in stuck:
        finish_refund_to_source(engine, settings, refund_id, now=now)
    return len(stuck)


def _refund_from_escrow(connection: Connection, trade: Trade, refund_id: str, amount: int, now: datetime) -> Trade:
    """Voids the hold and holds the rest again under a new id, in one linked batch."""
    remaining = trade.held_amount - amount
    assert remaining >= 0 and trade.hold_transfer_id
    requests = [TransferRequest.void(f"{refund_id}:void", pending_id=trade.hold_transfer_id,
                                     code="trade_refund", reference=trade.id)]
    generation = trade.hold_generation
    if remaining > 0:
        generation += 1
        buyer_wallet, seller_wallet = account_ids(connection, now, wallet(trade.buyer_user_id, trade.currency),
                                                  wallet(trade.seller_user_id, trade.currency))
        requests.append(TransferRequest.pending(
            f"{trade.id}:hold:{generation}", debit=buyer_wallet, credit=seller_wallet, amount=remaining,
            code="trade_hold", reference=trade.id))
    ledger.create_linked(connection, requests, now=now)
    return save(connection, trade, now, held_amount=remaining, hold_generation=generation,
                hold_transfer_id=f"{trade.id}:hold:{generation}" if remaining else None)


def refund_shares(*, released: int, fee: int, refunded_before: int, amount: int) -> tuple[int, int]:
    """How a refund after completion is shared: (from the seller, from the platform's fee).

    The trade released ``released`` to the seller and took ``fee`` of it for the platform; the
    seller kept ``released - fee``. After ``refunded`` of ``released`` has come back in all, the
    seller has given back ``(released - fee) * refunded // released`` — **rounded down, in the
    seller's favour**, as the fee was at completion — and the platform the rest. Each refund
    takes the difference between the totals after and before it, so any sequence of partial
    refunds adds up exactly: never more from the seller than the trade paid them, never more
    from the platform than its fee, and both in full when everything is refunded."""
    assert 0 < released and 0 <= fee <= released and 0 <= refunded_before and 0 < amount
    assert refunded_before + amount <= released

    def from_seller(refunded: int) -> int:
        return (released - fee) * refunded // released

    seller_amount = from_seller(refunded_before + amount) - from_seller(refunded_before)
    return seller_amount, amount - seller_amount


def _refunded_after_completion(connection: Connection, trade_id: str) -> int:
    # int(): PostgreSQL's SUM of a bigint is a numeric (a Decimal), and money is an int.
    return int(connection.execute(sa.select(sa.func.coalesce(sa.func.sum(refunds.c.amount), 0)).where(
        refunds.c.trade_id == trade_id, refunds.c.source == "seller_balance")).scalar_one())


def _refund_from_seller(connection: Connection, trade: Trade, refund_id: str, amount: int,
                        now: datetime) -> tuple[int, int]:
    """Back to the buyer from the seller's balance and the platform's fee account, in one linked
    batch (all or nothing); (seller's share, platform's share). A short balance on either side
    is a 409 and nothing moves. The trade released what escrow held at completion: its amount
    less the refunds made before (every refund since is counted in ``refunded_after``)."""
    refunded_after = _refunded_after_completion(connection, trade.id)
    released = trade.amount - (trade.refunded_amount - refunded_after)
    seller_amount, fee_refund_amount = refund_shares(released=released, fee=trade.fee_amount,
                                                     refunded_before=refunded_after, amount=amount)
    seller_wallet, buyer_wallet, platform_fees = account_ids(
        connection, now, wallet(trade.seller_user_id, trade.currency), wallet(trade.buyer_user_id, trade.currency),
        fee_account(trade.platform_id, trade.currency))
    requests, refusals = [], []
    if seller_amount:
        requests.append(TransferRequest.direct(f"{refund_id}:refund", debit=seller_wallet, credit=buyer_wallet,
                                               amount=seller_amount, code="trade_refund", reference=trade.id))
        refusals.append(Conflict("The seller's balance is too low for this refund; nothing was moved. Top up the "
                                 "seller's balance or refund less.", code="seller_balance_insufficient",
                                 param="amount"))
    if fee_refund_amount:
        requests.append(TransferRequest.direct(
            f"{refund_id}:fee_refund", debit=platform_fees, credit=buyer_wallet, amount=fee_refund_amount,
            code="platform_fee_refund", reference=trade.id))
        refusals.append(Conflict("The marketplace's fee account is too low to give back its share of the fee; "
                                 "nothing was moved.", code="platform_balance_insufficient", param="amount"))
    _apply_all_or_nothing(connection, requests, refusals, now)
    return seller_amount, fee_refund_amount


def _apply_all_or_nothing(connection: Connection, requests: list[TransferRequest], refusals: list[Conflict],
                          now: datetime) -> None:
    """``ledger.create_linked``, saying which side was short when a balance is."""
    chain = [replace(request, linked=i < len(requests) - 1) for i, request in enumerate(requests)]
    outcomes = ledger.create_transfers(connection, chain, now=now)
    ok = (TransferResult.OK, TransferResult.EXISTS, TransferResult.LINKED_EVENT_FAILED)
    for outcome, refusal in zip(outcomes, refusals):
        if outcome.result is TransferResult.EXCEEDS_CREDITS:
            raise refusal
    failed = next((o for o in outcomes if o.result not in ok), None)
    if failed is not None:
        from amanah.ledger.errors import transfer_refused

        raise transfer_refused(failed.result)
