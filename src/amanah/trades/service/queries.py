"""Reading trades: each caller sees only its own (the platform's, or the user's as buyer or seller)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from amanah.trades.models import trades
from amanah.trades.service.common import Trade, load, no_trade


@dataclass(frozen=True)
class Viewer:
    """Who is looking: a platform, or a user (a buyer or seller)."""

    platform_id: str | None = None
    user_id: str | None = None

    def condition(self):
        if self.platform_id is not None:
            return trades.c.platform_id == self.platform_id
        assert self.user_id is not None
        return sa.or_(trades.c.buyer_user_id == self.user_id, trades.c.seller_user_id == self.user_id)

    def may_see(self, trade: Trade) -> bool:
        if self.platform_id is not None:
            return trade.platform_id == self.platform_id
        return self.user_id in (trade.buyer_user_id, trade.seller_user_id)


def get_visible(connection: Connection, viewer: Viewer, trade_id: str, *, for_update: bool = False) -> Trade:
    """The trade if the viewer may see it; otherwise "not found", exactly as for a missing one."""
    trade = load(connection, trade_id, for_update=for_update)
    if not viewer.may_see(trade):
        raise no_trade(trade_id)
    return trade


def list_visible(connection: Connection, viewer: Viewer, *, limit: int, starting_after: str | None = None,
                 out_trade_no: str | None = None, status: str | None = None) -> tuple[list[Trade], bool]:
    """Newest first, keyset-paginated on the time-ordered id (no OFFSET)."""
    query = sa.select(trades).where(viewer.condition())
    if out_trade_no is not None:
        query = query.where(trades.c.out_trade_no == out_trade_no)
    if status is not None:
        query = query.where(trades.c.status == status)
    if starting_after is not None:
        query = query.where(trades.c.id < starting_after)
    rows = connection.execute(query.order_by(trades.c.id.desc()).limit(limit + 1)).all()
    return [Trade.from_row(row) for row in rows[:limit]], len(rows) > limit


def refunds_and_disputes(connection: Connection, trade_id: str) -> tuple[list[dict], list[dict]]:
    """What happened to a trade after its payment, for its timeline: its refunds and disputes,
    oldest first (the caller checked that the viewer may see the trade)."""
    from amanah.trades.models import disputes, refunds

    found_refunds = connection.execute(sa.select(refunds).where(refunds.c.trade_id == trade_id)
                                       .order_by(refunds.c.created_at, refunds.c.id)).all()
    found_disputes = connection.execute(sa.select(disputes).where(disputes.c.trade_id == trade_id)
                                        .order_by(disputes.c.created_at, disputes.c.id)).all()
    return [dict(row._mapping) for row in found_refunds], [dict(row._mapping) for row in found_disputes]
