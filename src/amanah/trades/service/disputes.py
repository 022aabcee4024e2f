"""Disputes: the buyer opens one (the timer stops); the platform settles it."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from amanah.core.errors import Conflict, InvalidRequest, PermissionDenied
from amanah.core.ids import new_id
from amanah.trades.models import disputes
from amanah.trades.service.common import Trade, emit, load, save
from amanah.trades.service.lifecycle import release
from amanah.trades.service.refunds import refund
from amanah.trades.states import TradeStatus, check_transition


class Outcome(enum.StrEnum):
    REFUND_BUYER = "refund_buyer"
    """Everything held goes back to the buyer."""
    RELEASE_SELLER = "release_seller"
    """The seller is paid as if the buyer had confirmed."""
    SPLIT = "split"
    """``buyer_amount`` back to the buyer, the rest to the seller (less the fee on it)."""


def open_dispute(connection: Connection, trade_id: str, buyer_user_id: str, *, reason: str, now: datetime) -> Trade:
    trade = load(connection, trade_id, for_update=True)
    if trade.buyer_user_id != buyer_user_id:
        raise PermissionDenied("Only the buyer can open a dispute.", code="not_the_buyer")
    reason = reason.strip()
    if not reason:
        raise InvalidRequest("Say what went wrong: the reason cannot be empty.",
                             code="dispute_reason_missing", param="reason")
    check_transition(trade.status, TradeStatus.DISPUTED, "disputed")
    dispute_id = new_id("dsp")
    connection.execute(disputes.insert().values(id=dispute_id, trade_id=trade.id, reason=reason[:1000],
                                                status="open", created_at=now))
    disputed = save(connection, trade, now, status=TradeStatus.DISPUTED, release_at=None)
    emit(connection, disputed, "trade.disputed", now, dispute={"id": dispute_id, "reason": reason[:1000]})
    return disputed


def resolve(connection: Connection, trade_id: str, *, outcome: str, buyer_amount: int | None,
            now: datetime) -> Trade:
    trade = load(connection, trade_id, for_update=True)
    if trade.status is not TradeStatus.DISPUTED:
        raise Conflict(f"Only a disputed trade can be settled; this one is {trade.status.value}.",
                       code="trade_status_conflict")
    try:
        outcome = Outcome(outcome)
    except ValueError:
        raise InvalidRequest("outcome must be refund_buyer, release_seller or split.",
                             code="dispute_outcome_unknown", param="outcome") from None
    buyer_amount = _buyer_share(trade, outcome, buyer_amount)
    if buyer_amount:
        trade, _ = refund(connection, trade.id, amount=buyer_amount, reason="dispute settled", now=now)
    if trade.status is TradeStatus.DISPUTED:
        check_transition(trade.status, TradeStatus.COMPLETED, "released")
        trade = release(connection, trade, now)
    connection.execute(disputes.update().where(disputes.c.trade_id == trade.id, disputes.c.status == "open")
                       .values(status="resolved", outcome=outcome.value, buyer_amount=buyer_amount,
                               resolved_at=now))
    emit(connection, trade, "trade.dispute_resolved", now,
         resolution={"outcome": outcome.value, "buyer_amount": buyer_amount})
    return trade


def _buyer_share(trade: Trade, outcome: Outcome, buyer_amount: int | None) -> int:
    if outcome is Outcome.REFUND_BUYER:
        return trade.held_amount
    if outcome is Outcome.RELEASE_SELLER:
        return 0
    if buyer_amount is None or type(buyer_amount) is not int or not 0 < buyer_amount < trade.held_amount:
        raise InvalidRequest(f"A split needs buyer_amount between 1 and {trade.held_amount - 1}.",
                             code="split_amount_invalid", param="buyer_amount")
    return buyer_amount


def open_dispute_of(connection: Connection, trade_id: str) -> dict | None:
    row = connection.execute(sa.select(disputes).where(disputes.c.trade_id == trade_id)
                             .order_by(disputes.c.created_at.desc())).first()
    return dict(row._mapping) if row else None
