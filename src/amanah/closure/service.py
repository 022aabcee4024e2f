"""Closing an account and exporting its data. Allowed in every service mode (closing is how a
wind-down ends for each user)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from amanah.cards import service as cards
from amanah.core import limits
from amanah.core.errors import Conflict
from amanah.ledger import AccountKind
from amanah.ledger.models import accounts
from amanah.money import Money, currency
from amanah.platforms import service as platforms
from amanah.trades import service as trades
from amanah.trades.states import ESCROW_STATES, TradeStatus
from amanah.users import service as users

OPEN_TRADE_STATES = (TradeStatus.AWAITING_PAYMENT, *sorted(ESCROW_STATES))


@dataclass(frozen=True)
class Balance:
    currency: str
    available: int
    held: int
    """In escrow as buyer or seller, or a withdrawal under way."""

    @property
    def total(self) -> int:
        return self.available + self.held

    def to_dict(self) -> dict:
        return {"currency": self.currency, "available": self.available, "held": self.held}


def balances(connection: Connection, user_id: str) -> list[Balance]:
    """Every currency the user ever held, read off the ledger (the wallet's own numbers)."""
    rows = connection.execute(sa.select(accounts).where(
        accounts.c.kind == AccountKind.USER_WALLET.value, accounts.c.owner_ref == user_id)
        .order_by(accounts.c.currency))
    return [Balance(row.currency, row.credits_posted - row.debits_posted - row.debits_pending,
                    row.debits_pending + row.credits_pending) for row in rows]


def open_trades(connection: Connection, user_id: str) -> list:
    viewer = trades.Viewer(user_id=user_id)
    found = []
    for status in OPEN_TRADE_STATES:
        page, _more = trades.list_visible(connection, viewer, limit=limits.PAGE_LIMIT_MAX, status=status.value)
        found += page
    return found


def obstacles(connection: Connection, user_id: str) -> list[str]:
    """Why the account cannot close yet, in words for the user; empty when it can."""
    reasons = [f"You still hold {_shown(b.total, b.currency)}: withdraw it to a card first"
               + (" (part of it is in escrow or on its way out; wait until it settles)." if b.held else ".")
               for b in balances(connection, user_id) if b.available or b.held]
    for trade in open_trades(connection, user_id):
        role = "buying" if trade.buyer_user_id == user_id else "selling"
        waiting = ("it will close by itself if unpaid, or the marketplace can cancel it"
                   if trade.status is TradeStatus.AWAITING_PAYMENT else "it must be completed or refunded first")
        reasons.append(f"Trade {trade.id} ({role} “{trade.subject}”) is {trade.status.value.replace('_', ' ')}: "
                       f"{waiting}.")
    return reasons


def _shown(amount_minor: int, code: str) -> str:
    return Money(amount_minor, currency(code)).format("en")


def close_account(connection: Connection, user_id: str, *, now: datetime) -> dict:
    """Closes the account when nothing stops it (409 ``account_not_empty`` listing what does).
    The caller checked it is the owner (``users.check_owner``) in this same transaction."""
    reasons = obstacles(connection, user_id)
    if reasons:
        raise Conflict("Your account cannot be closed yet. " + " ".join(reasons), code="account_not_empty")
    cards_deleted = cards.forget_cards(connection, user_id, now=now)
    platforms.forget_user(connection, user_id)
    users.anonymise(connection, user_id, now=now)
    return {"id": user_id, "closed": True, "closed_at": now, "cards_deleted": cards_deleted}


def export(connection: Connection, user_id: str) -> dict:
    """Everything we keep about the user, for them to take away (``GET /v1/me/export.json``)."""
    user = users.get_user(connection, user_id)
    found, _more = trades.list_visible(connection, trades.Viewer(user_id=user_id), limit=limits.EXPORT_TRADES_MAX)
    return {
        "profile": {"id": user.id, "email": user.email, "name": user.name, "locale": user.locale,
                    "email_verified": user.email_verified, "two_factor_enabled": user.two_factor_enabled,
                    "created_at": user.created_at},
        "cards": [{"id": c.id, "brand": c.brand, "last4": c.last4, "exp_month": c.exp_month,
                   "exp_year": c.exp_year, "holder_name": c.holder_name, "created_at": c.created_at}
                  for c in cards.list_cards(connection, user_id)],
        "balances": [b.to_dict() for b in balances(connection, user_id)],
        "trades": [_trade_row(t, user_id) for t in found],
    }


def _trade_row(trade, user_id: str) -> dict:
    return {"id": trade.id, "role": "buyer" if trade.buyer_user_id == user_id else "seller",
            "status": trade.status.value, "subject": trade.subject, "amount": trade.amount,
            "currency": trade.currency, "refunded_amount": trade.refunded_amount,
            "fee_amount": trade.fee_amount if trade.seller_user_id == user_id else 0,
            "out_trade_no": trade.out_trade_no, "created_at": trade.created_at,
            "completed_at": trade.completed_at}


CSV_COLUMNS = ("section", "id", "kind", "status", "name", "detail", "amount", "currency", "created_at")


def export_csv(data: dict) -> str:
    """The export as one CSV table a spreadsheet opens: one row per profile, card, balance and
    trade, with a ``section`` column saying which."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    p = data["profile"]
    writer.writerow(["profile", p["id"], "", "", _safe(p["name"]), p["email"], "", "", _iso(p["created_at"])])
    for c in data["cards"]:
        writer.writerow(["card", c["id"], c["brand"], "", _safe(c["holder_name"]),
                         f"•••• {c['last4']} {c['exp_month']:02d}/{c['exp_year']}", "", "", _iso(c["created_at"])])
    for b in data["balances"]:
        writer.writerow(["balance", "", "available", "", "", "", b["available"], b["currency"], ""])
        writer.writerow(["balance", "", "held", "", "", "", b["held"], b["currency"], ""])
    for t in data["trades"]:
        writer.writerow(["trade", t["id"], t["role"], t["status"], _safe(t["subject"]), t["out_trade_no"],
                         t["amount"], t["currency"], _iso(t["created_at"])])
    return out.getvalue()


def _iso(value) -> str:
    return value.isoformat() if value is not None else ""


def _safe(text: str) -> str:
    """A cell a spreadsheet will not run as a formula (CSV injection): subjects come from
    marketplaces."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
