"""What a history page's lines refer to: how each hold ended, and the trade, top-up,
withdrawal or quote behind each line — one query per kind per page, never one per line."""

from __future__ import annotations

from collections.abc import Collection

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from amanah.fx.models import quotes
from amanah.ledger.models import transfers
from amanah.platforms.models import platforms, sellers
from amanah.trades.models import trades
from amanah.wallet.models import topups, withdrawals

CURRENCY_EXCHANGE = "Currency exchange"


def resolutions(connection: Connection, pending_ids: Collection[str]) -> dict[str, str]:
    """How each of these holds was resolved (post, void, expire); absent: still held."""
    if not pending_ids:
        return {}
    rows = connection.execute(sa.select(transfers.c.pending_id, transfers.c.kind)
                              .where(transfers.c.pending_id.in_(list(pending_ids))))
    return {row.pending_id: row.kind for row in rows}


def pending_transfers(connection: Connection, ids: Collection[str]) -> dict:
    if not ids:
        return {}
    rows = connection.execute(sa.select(transfers.c.id, transfers.c.amount, transfers.c.reference)
                              .where(transfers.c.id.in_(list(ids))))
    return {row.id: row for row in rows}


def _by_prefix(lines, prefix: str) -> set[str]:
    return {line.reference for line in lines if line.reference and line.reference.startswith(prefix)}


def _quote_owners(connection: Connection, quote_ids: set[str]) -> dict[str, str]:
    """Quote id → what used it (a trade or a top-up): a conversion belongs to its payment."""
    if not quote_ids:
        return {}
    rows = connection.execute(sa.select(quotes.c.id, quotes.c.used_by).where(quotes.c.id.in_(quote_ids)))
    return {row.id: row.used_by for row in rows if row.used_by}


def _trades(connection: Connection, trade_ids: set[str]) -> dict:
    if not trade_ids:
        return {}
    rows = connection.execute(
        sa.select(trades.c.id, trades.c.subject, trades.c.buyer_user_id, sellers.c.name.label("seller_name"),
                  platforms.c.name.label("platform_name"))
        .join(sellers, sellers.c.id == trades.c.seller_id).join(platforms, platforms.c.id == trades.c.platform_id)
        .where(trades.c.id.in_(trade_ids)))
    return {row.id: row for row in rows}


def _labels(connection: Connection, table, column, ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    return {row.id: row.label for row in connection.execute(
        sa.select(table.c.id, column.label("label")).where(table.c.id.in_(ids)))}


def describe(connection: Connection, user_id: str, lines: list, rows: list) -> None:
    """Fills each line's counterparty, marketplace, subject and trade id."""
    owners = _quote_owners(connection, _by_prefix(lines, "qt_"))
    owner_of = {line.id: owners.get(line.reference, line.reference) for line in lines}
    wanted = set(owner_of.values()) - {None}
    found = _trades(connection, {ref for ref in wanted if ref.startswith("trd_")})
    labels = {**_labels(connection, topups, topups.c.source_label, {r for r in wanted if r.startswith("top_")}),
              **_labels(connection, withdrawals, withdrawals.c.destination_label,
                        {r for r in wanted if r.startswith("wdr_")})}
    for line in lines:
        owner = owner_of[line.id]
        trade = found.get(owner)
        if trade is not None:
            line.trade_id, line.subject, line.marketplace = trade.id, trade.subject, trade.platform_name
            # The buyer sees whom they paid; the seller (and the fee) sees the marketplace.
            line.counterparty = trade.seller_name if trade.buyer_user_id == user_id else trade.platform_name
        elif owner in labels:
            line.counterparty = labels[owner]
        if line.type == "conversion":
            line.counterparty = CURRENCY_EXCHANGE
