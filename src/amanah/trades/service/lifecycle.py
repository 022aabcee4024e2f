"""Shipping, completion (by the buyer, the timer or a dispute), cancelling and expiry."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from amanah import ledger
from amanah.core import limits
from amanah.core.errors import InvalidRequest, PermissionDenied
from amanah.ledger import TransferRequest
from amanah.money import Money, Rounding, currency
from amanah.trades.models import trades
from amanah.trades.service.common import Trade, account_ids, emit, fee_account, load, save, wallet
from amanah.trades.states import ESCROW_STATES, TradeStatus, check_transition


def ship(connection: Connection, trade_id: str, *, carrier: str, tracking_number: str, now: datetime) -> Trade:
    """The seller shipped: the protection timer starts (the caller checked who may ship)."""
    carrier, tracking_number = carrier.strip(), tracking_number.strip()
    if not carrier or not tracking_number:
        raise InvalidRequest("Both the carrier and the tracking number are needed.", code="tracking_incomplete",
                             param="carrier" if not carrier else "tracking_number")
    trade = load(connection, trade_id, for_update=True)
    check_transition(trade.status, TradeStatus.SHIPPED, "shipped")
    shipped = save(connection, trade, now, status=TradeStatus.SHIPPED, carrier=carrier,
                   tracking_number=tracking_number, shipped_at=now,
                   release_at=now + timedelta(days=trade.protection_days))
    emit(connection, shipped, "trade.shipped", now)
    return shipped


def fee_for(trade: Trade, held_amount: int) -> int:
    """The platform's fee on what is released, rounded down (in the seller's favour)."""
    if trade.fee_bps is not None:
        return Money(held_amount, currency(trade.currency)).percent_bps(trade.fee_bps, rounding=Rounding.DOWN).amount_minor
    return min(trade.fee_fixed or 0, held_amount)


def release(connection: Connection, trade: Trade, now: datetime, *, event: str = "trade.completed") -> Trade:
    """Posts the hold to the seller and the fee to the platform, atomically; the trade is
    completed. The caller holds the trade's lock and checked the transition."""
    assert trade.status in ESCROW_STATES and trade.hold_transfer_id
    fee = fee_for(trade, trade.held_amount)
    requests = [TransferRequest.post(f"{trade.id}:release", pending_id=trade.hold_transfer_id,
                                     code="trade_release", reference=trade.id)]
    if fee > 0:
        seller_wallet, platform_fees = account_ids(connection, now, wallet(trade.seller_user_id, trade.currency),
                                                   fee_account(trade.platform_id, trade.currency))
        requests.append(TransferRequest.direct(
            f"{trade.id}:fee", debit=seller_wallet, credit=platform_fees, amount=fee,
            code="platform_fee", reference=trade.id))
    completed = save(connection, trade, now, status=TradeStatus.COMPLETED, fee_amount=fee, completed_at=now,
                     release_at=None, held_amount=0, hold_transfer_id=None)
    emit(connection, completed, event, now)
    ledger.create_linked(connection, requests, now=now)  # last, as its docstring asks
    return completed


def confirm(connection: Connection, trade_id: str, buyer_user_id: str, *, now: datetime) -> Trade:
    """The buyer confirms receipt: the seller is paid the price less the platform's fee."""
    trade = load(connection, trade_id, for_update=True)
    if trade.buyer_user_id != buyer_user_id:
        raise PermissionDenied("Only the buyer can confirm receipt.", code="not_the_buyer")
    if trade.status is TradeStatus.DISPUTED:  # the platform settles a dispute, not the buyer
        check_transition(trade.status, TradeStatus.HELD, "confirmed while disputed")
    check_transition(trade.status, TradeStatus.COMPLETED, "confirmed")
    return release(connection, trade, now)


def cancel(connection: Connection, trade_id: str, *, now: datetime) -> Trade:
    """The platform cancels an unpaid trade."""
    trade = load(connection, trade_id, for_update=True)
    # A payment still at the bank that succeeds later is credited to the buyer's balance.
    check_transition(trade.status, TradeStatus.CLOSED, "cancelled")
    return _close(connection, trade, now, reason="cancelled")


def _close(connection: Connection, trade: Trade, now: datetime, *, reason: str) -> Trade:
    closed = save(connection, trade, now, status=TradeStatus.CLOSED, closed_at=now)
    emit(connection, closed, "trade.closed", now, reason=reason)
    return closed


def _due(connection: Connection, status: TradeStatus, column, now: datetime) -> list[str]:
    """By the partial index on ``column`` for ``status`` (migration 0018): the status is written
    into the statement, not bound, so that the planner can see that the index applies."""
    rows = connection.execute(
        sa.select(trades.c.id)
        .where(trades.c.status == sa.literal(status.value, literal_execute=True), column.is_not(None), column <= now)
        .order_by(column).limit(limits.TRADES_PER_JOB_RUN_MAX))
    return [row.id for row in rows]


def release_due(connection: Connection, *, now: datetime) -> int:
    """Completes shipped trades whose protection period ended without a dispute."""
    done = 0
    for trade_id in _due(connection, TradeStatus.SHIPPED, trades.c.release_at, now):
        trade = load(connection, trade_id, for_update=True)
        if trade.status is TradeStatus.SHIPPED and trade.release_at and trade.release_at <= now:
            release(connection, trade, now)
            done += 1
    return done


def expire_due(connection: Connection, *, now: datetime) -> int:
    """Closes unpaid trades past their expiry."""
    done = 0
    for trade_id in _due(connection, TradeStatus.AWAITING_PAYMENT, trades.c.expires_at, now):
        trade = load(connection, trade_id, for_update=True)
        if trade.status is TradeStatus.AWAITING_PAYMENT and trade.expires_at <= now:
            _close(connection, trade, now, reason="expired")
            done += 1
    return done
