"""What the back office reads: search, and the pages of a user, a platform, a trade, a transfer
and the dispute queue. Read-only; the edge passes its connection.

Where a domain's service has the reading use case (balances, history, trades of a viewer, a
platform, webhook endpoints), it is called; the searches themselves, which only operators make,
read the tables directly (by primary key, unique key or an indexed prefix)."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from amanah.core import limits
from amanah.core.errors import NotFound
from amanah.ledger import AccountKind
from amanah.ledger.models import accounts, transfers
from amanah.platforms import service as platforms
from amanah.platforms.models import platforms as platforms_table
from amanah.platforms.models import sellers
from amanah.platforms.webhooks import service as webhooks
from amanah.platforms.webhooks.models import events
from amanah.trades import service as trades
from amanah.trades.models import disputes, refunds
from amanah.trades.models import trades as trades_table
from amanah.users import service as users
from amanah.users.models import users as users_table

ROWS = limits.BACKOFFICE_PAGE_ROWS


@dataclass
class SearchResults:
    text: str
    users: list[dict] = field(default_factory=list)
    platforms: list[dict] = field(default_factory=list)
    trades: list[dict] = field(default_factory=list)
    transfers: list[dict] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.users) + len(self.platforms) + len(self.trades) + len(self.transfers)


def _like_prefix(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def _rows(connection: Connection, query) -> list[dict]:
    return [dict(row._mapping) for row in connection.execute(query.limit(ROWS))]


def search(connection: Connection, text: str) -> SearchResults:
    """Users by e-mail (prefix) or id; platforms by name (prefix, any case) or id; trades by id
    or the platform's reference (``out_trade_no``); ledger transfers by id."""
    text = " ".join(text.split())[: limits.BACKOFFICE_SEARCH_TEXT_LENGTH_MAX]
    found = SearchResults(text)
    if not text:
        return found
    lowered = text.lower()
    found.users = _rows(connection, sa.select(users_table.c.id, users_table.c.email, users_table.c.name,
                                              users_table.c.created_at, users_table.c.closed_at).where(
        sa.or_(users_table.c.id == text, users_table.c.email.like(_like_prefix(lowered), escape="\\")))
        .order_by(users_table.c.email))
    found.platforms = _rows(connection, sa.select(platforms_table.c.id, platforms_table.c.name,
                                                  platforms_table.c.created_at, platforms_table.c.disabled_at).where(
        sa.or_(platforms_table.c.id == text,
               sa.func.lower(platforms_table.c.name).like(_like_prefix(lowered), escape="\\")))
        .order_by(platforms_table.c.name))
    found.trades = _rows(connection, sa.select(
        trades_table.c.id, trades_table.c.platform_id, trades_table.c.out_trade_no, trades_table.c.amount,
        trades_table.c.currency, trades_table.c.status, trades_table.c.created_at).where(
        sa.or_(trades_table.c.id == text, trades_table.c.out_trade_no == text)).order_by(trades_table.c.id.desc()))
    found.transfers = _rows(connection, sa.select(
        transfers.c.id, transfers.c.kind, transfers.c.amount, transfers.c.currency, transfers.c.code,
        transfers.c.reference, transfers.c.created_at).where(transfers.c.id == text))
    return found


def user_page(connection: Connection, user_id: str) -> dict:
    """The user, whether the account is closed, and their newest trades (as buyer or seller)."""
    user = users.get_user(connection, user_id)
    closed_at = connection.execute(sa.select(users_table.c.closed_at).where(users_table.c.id == user_id)).scalar()
    recent, more = trades.list_visible(connection, trades.Viewer(user_id=user_id), limit=20)
    return {"customer": user, "closed_at": closed_at, "trades": recent, "more_trades": more}


def platform_page(connection: Connection, platform_id: str) -> dict:
    platform = platforms.get_platform(connection, platform_id)
    row = connection.execute(sa.select(platforms_table.c.created_at, platforms_table.c.disabled_at)
                             .where(platforms_table.c.id == platform_id)).one()
    seller_count = connection.execute(sa.select(sa.func.count()).select_from(sellers)
                                      .where(sellers.c.platform_id == platform_id)).scalar_one()
    recent, more = trades.list_visible(connection, trades.Viewer(platform_id=platform_id), limit=20)
    fees = connection.execute(sa.select(accounts.c.currency, accounts.c.credits_posted, accounts.c.debits_posted)
                              .where(accounts.c.kind == AccountKind.PLATFORM_FEES.value,
                                     accounts.c.owner_ref == platform_id)
                              .order_by(accounts.c.currency)).all()
    return {"platform": platform, "created_at": row.created_at, "disabled_at": row.disabled_at,
            "sellers": seller_count, "trades": recent, "more_trades": more,
            "fees": [{"currency": f.currency, "balance": f.credits_posted - f.debits_posted} for f in fees],
            "endpoints": webhooks.list_endpoints(connection, platform_id)}


def trade_page(connection: Connection, trade_id: str) -> dict:
    """The trade, its refunds and disputes, its webhook events and its ledger transfers."""
    trade = trades.load(connection, trade_id)
    return {
        "trade": trade,
        "platform": platforms.get_platform(connection, trade.platform_id),
        "refunds": _rows(connection, sa.select(refunds).where(refunds.c.trade_id == trade_id)
                         .order_by(refunds.c.created_at)),
        "disputes": _rows(connection, sa.select(disputes).where(disputes.c.trade_id == trade_id)
                          .order_by(disputes.c.created_at)),
        "events": _rows(connection, sa.select(events.c.id, events.c.type, events.c.created_at).where(
            events.c.platform_id == trade.platform_id, events.c.subject_id == trade_id)
            .order_by(events.c.created_at, events.c.id)),
        "transfers": _rows(connection, sa.select(
            transfers.c.id, transfers.c.kind, transfers.c.amount, transfers.c.currency, transfers.c.code,
            transfers.c.created_at).where(transfers.c.reference == trade_id).order_by(transfers.c.seq)),
    }


def transfer_page(connection: Connection, transfer_id: str) -> dict:
    row = connection.execute(sa.select(transfers).where(transfers.c.id == transfer_id)).first()
    if row is None:
        raise NotFound(f"No transfer {transfer_id[:64]}.")
    sides = {a.id: a for a in connection.execute(sa.select(accounts.c.id, accounts.c.kind, accounts.c.owner_ref)
                                                 .where(accounts.c.id.in_([row.debit_account_id,
                                                                           row.credit_account_id])))}
    return {"transfer": dict(row._mapping), "debit": sides.get(row.debit_account_id),
            "credit": sides.get(row.credit_account_id)}


def open_disputes(connection: Connection, *, limit: int = ROWS) -> list[dict]:
    """The dispute queue: every open dispute, oldest first, with its trade."""
    query = (sa.select(disputes.c.id.label("dispute_id"), disputes.c.reason,
                       disputes.c.created_at.label("opened_at"),
                       trades_table.c.id, trades_table.c.platform_id, trades_table.c.out_trade_no,
                       trades_table.c.held_amount, trades_table.c.amount, trades_table.c.currency,
                       trades_table.c.buyer_user_id, trades_table.c.seller_user_id, trades_table.c.subject)
             .join(trades_table, trades_table.c.id == disputes.c.trade_id)
             .where(disputes.c.status == "open")
             .order_by(disputes.c.created_at, disputes.c.id).limit(limit))
    return [dict(row._mapping) for row in connection.execute(query)]
