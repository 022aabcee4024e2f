"""Refunds, full or partial: out of escrow before completion, out of the seller's balance
after. Never more than was paid in total. Each refund is its own record (``ref_…``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Connection

from amanah import ledger
from amanah.core.errors import Conflict, InsufficientFunds, InvalidRequest
from amanah.core.ids import new_id
from amanah.ledger import TransferRequest
from amanah.trades.models import refunds
from amanah.trades.service.common import Trade, emit, load, save, wallet
from amanah.trades.states import ESCROW_STATES, TradeStatus, check_transition


def refund(connection: Connection, trade_id: str, *, amount: int, reason: str, now: datetime) -> tuple[Trade, dict]:
    """Refunds ``amount`` to the buyer's balance; the caller checked who may refund."""
    trade = load(connection, trade_id, for_update=True)
    if trade.status not in ESCROW_STATES | {TradeStatus.COMPLETED}:
        check_transition(trade.status, TradeStatus.REFUNDED, "refunded")
    refundable = trade.amount - trade.refunded_amount
    if type(amount) is not int or not 0 < amount <= refundable:
        raise InvalidRequest(f"The refund must be 1 to {refundable} (what is left of the {trade.amount} paid).",
                             code="refund_exceeds_paid", param="amount")
    refund_id = new_id("ref")
    if trade.status in ESCROW_STATES:
        trade = _refund_from_escrow(connection, trade, refund_id, amount, now)
        source = "escrow"
    else:
        _refund_from_seller(connection, trade, refund_id, amount, now)
        source = "seller_balance"
    refunded_amount = trade.refunded_amount + amount
    status = TradeStatus.REFUNDED if refunded_amount == trade.amount else trade.status
    if status is TradeStatus.REFUNDED:
        check_transition(trade.status, status, "refunded")
    record = {"id": refund_id, "trade_id": trade.id, "amount": amount, "currency": trade.currency,
              "reason": reason.strip()[:500] or "requested", "source": source, "destination": "balance",
              "status": "succeeded", "created_at": now, "updated_at": now}
    connection.execute(refunds.insert().values(record))
    updated = save(connection, trade, now, refunded_amount=refunded_amount, status=status,
                   release_at=None if status is TradeStatus.REFUNDED else trade.release_at)
    emit(connection, updated, "trade.refunded", now, refund={"id": refund_id, "amount": amount, "source": source})
    return updated, record


def _refund_from_escrow(connection: Connection, trade: Trade, refund_id: str, amount: int, now: datetime) -> Trade:
    """Voids the hold and holds the rest again under a new id, in one linked batch."""
    remaining = trade.held_amount - amount
    assert remaining >= 0 and trade.hold_transfer_id
    requests = [TransferRequest.void(f"{refund_id}:void", pending_id=trade.hold_transfer_id,
                                     code="trade_refund", reference=trade.id)]
    generation = trade.hold_generation
    if remaining > 0:
        generation += 1
        requests.append(TransferRequest.pending(
            f"{trade.id}:hold:{generation}", debit=wallet(connection, trade.buyer_user_id, trade.currency, now).id,
            credit=wallet(connection, trade.seller_user_id, trade.currency, now).id, amount=remaining,
            code="trade_hold", reference=trade.id))
    ledger.create_linked(connection, requests, now=now)
    return save(connection, trade, now, held_amount=remaining, hold_generation=generation,
                hold_transfer_id=f"{trade.id}:hold:{generation}" if remaining else None)


def _refund_from_seller(connection: Connection, trade: Trade, refund_id: str, amount: int, now: datetime) -> None:
    try:
        ledger.create_transfer(connection, TransferRequest.direct(
            f"{refund_id}:refund", debit=wallet(connection, trade.seller_user_id, trade.currency, now).id,
            credit=wallet(connection, trade.buyer_user_id, trade.currency, now).id, amount=amount,
            code="trade_refund", reference=trade.id), now=now)
    except InsufficientFunds as short:
        raise Conflict("The seller's balance is too low for this refund; nothing was moved. Top up the "
                       "seller's balance or refund less.", code="seller_balance_insufficient",
                       param="amount") from short
