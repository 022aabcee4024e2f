"""Liabilities: per currency, the money the service still owes — to users (their balances, some
of it in escrow or on its way out to a card) and to marketplaces (fees) — and how many users
still hold money. When winding down, the users' part must reach zero before the lights go out.

Read from the ledger's accounts (the same numbers ``amanah ledger verify`` proves), escrow from
the trades that hold it; one consistent snapshot inside the caller's transaction."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from amanah.closure.notices import holds_money
from amanah.core import service_mode
from amanah.ledger import AccountKind
from amanah.ledger.models import accounts
from amanah.trades.models import trades
from amanah.trades.states import ESCROW_STATES, TradeStatus

OPEN_STATES = [TradeStatus.AWAITING_PAYMENT.value, *sorted(s.value for s in ESCROW_STATES)]


@dataclass
class CurrencyLiabilities:
    owed_to_users: int = 0
    """Every user's balance summed (minor units): available + in escrow as buyer + withdrawals under way."""
    available: int = 0
    in_escrow: int = 0
    withdrawals_under_way: int = 0
    users_holding_money: int = 0
    open_trades: int = 0
    owed_to_platforms: int = 0
    """Platform fees collected and not yet paid out to the marketplaces."""


@dataclass
class Liabilities:
    mode: str
    currencies: dict[str, CurrencyLiabilities] = field(default_factory=dict)
    users_holding_money: int = 0
    open_trades: int = 0

    @property
    def users_settled(self) -> bool:
        """Nothing owed to any user and no trade open: users' money is all out."""
        return self.users_holding_money == 0 and self.open_trades == 0 and all(
            c.owed_to_users == 0 for c in self.currencies.values())

    def as_dict(self) -> dict:
        return {"mode": self.mode, "users_settled": self.users_settled,
                "users_holding_money": self.users_holding_money, "open_trades": self.open_trades,
                "currencies": {code: asdict(c) for code, c in sorted(self.currencies.items())}}


def report(connection: Connection) -> Liabilities:
    result = Liabilities(mode=service_mode.current(connection).mode.value)
    _wallets(connection, result)
    _escrow(connection, result)
    _fees(connection, result)
    result.users_holding_money = connection.execute(sa.select(sa.func.count(sa.distinct(accounts.c.owner_ref))).where(
        accounts.c.kind == AccountKind.USER_WALLET.value, holds_money())).scalar_one()
    result.open_trades = sum(c.open_trades for c in result.currencies.values())
    return result


def _wallets(connection: Connection, result: Liabilities) -> None:
    wallet = accounts.c.kind == AccountKind.USER_WALLET.value
    rows = connection.execute(sa.select(
        accounts.c.currency,
        sa.func.sum(accounts.c.credits_posted - accounts.c.debits_posted).label("posted"),
        sa.func.sum(accounts.c.debits_pending).label("pending_out"),
        sa.func.count().filter(holds_money()).label("holders"),
    ).where(wallet).group_by(accounts.c.currency))
    for row in rows:
        entry = result.currencies.setdefault(row.currency, CurrencyLiabilities())
        entry.owed_to_users = int(row.posted or 0)
        entry.available = int(row.posted or 0) - int(row.pending_out or 0)
        entry.withdrawals_under_way = int(row.pending_out or 0)  # escrow is taken off below
        entry.users_holding_money = int(row.holders or 0)


def _escrow(connection: Connection, result: Liabilities) -> None:
    rows = connection.execute(sa.select(
        trades.c.currency,
        sa.func.sum(trades.c.held_amount).filter(trades.c.status.in_([s.value for s in ESCROW_STATES])).label("held"),
        sa.func.count().label("open"),
    ).where(trades.c.status.in_(OPEN_STATES)).group_by(trades.c.currency))
    for row in rows:
        entry = result.currencies.setdefault(row.currency, CurrencyLiabilities())
        entry.in_escrow = int(row.held or 0)
        entry.withdrawals_under_way -= entry.in_escrow
        entry.open_trades = int(row.open)


def _fees(connection: Connection, result: Liabilities) -> None:
    rows = connection.execute(sa.select(
        accounts.c.currency, sa.func.sum(accounts.c.credits_posted - accounts.c.debits_posted).label("owed"),
    ).where(accounts.c.kind == AccountKind.PLATFORM_FEES.value).group_by(accounts.c.currency))
    for row in rows:
        owed = int(row.owed or 0)
        if owed:
            result.currencies.setdefault(row.currency, CurrencyLiabilities()).owed_to_platforms = owed
