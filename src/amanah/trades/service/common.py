"""What every trade use case shares: the trade as a value, loading it under a lock, the ledger
accounts it moves money between, and its webhook events. A use case that moves money writes
the trade's new state and its event first and calls the ledger last (``ledger.create_linked``:
the wallets and the fee account it locks are shared by many trades)."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from amanah import ledger
from amanah.core.errors import NotFound
from amanah.ledger import AccountKey, AccountKind
from amanah.money import Money, currency
from amanah.trades.models import trades
from amanah.trades.states import TradeStatus


@dataclass(frozen=True)
class Trade:
    id: str
    platform_id: str
    out_trade_no: str
    seller_id: str
    seller_user_id: str
    buyer_user_id: str
    buyer_platform_user_id: str
    amount: int
    currency: str
    subject: str
    protection_days: int
    fee_bps: int | None
    fee_fixed: int | None
    status: TradeStatus
    held_amount: int
    refunded_amount: int
    fee_amount: int
    hold_transfer_id: str | None
    hold_generation: int
    payment_status: str | None
    payment_source: str | None
    pay_currency: str | None
    pay_amount: int | None
    charge_id: str | None
    quote_id: str | None
    payment_failure_code: str | None
    carrier: str | None
    tracking_number: str | None
    shipped_at: datetime | None
    release_at: datetime | None
    expires_at: datetime
    paid_at: datetime | None
    completed_at: datetime | None
    closed_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @property
    def money(self) -> Money:
        return Money(self.amount, currency(self.currency))

    @classmethod
    def from_row(cls, row) -> "Trade":
        values = {f.name: getattr(row, f.name) for f in fields(cls)}
        values["status"] = TradeStatus(values["status"])
        return cls(**values)


_load = sa.select(trades).where(trades.c.id == sa.bindparam("trade_id"))
_load_for_update = _load.with_for_update()


def load(connection: Connection, trade_id: str, *, for_update: bool = False) -> Trade:
    row = connection.execute(_load_for_update if for_update else _load, {"trade_id": trade_id}).first()
    if row is None:
        raise no_trade(trade_id)
    return Trade.from_row(row)


def no_trade(trade_id: str) -> NotFound:
    """The error for a trade that does not exist, or that the caller may not see."""
    return NotFound(f"No trade {trade_id[:40]}.", param="id")


@functools.cache
def _update_returning(columns: frozenset[str]) -> sa.Update:
    """``UPDATE trades SET <columns> WHERE id = :trade_id RETURNING *``, built once per set of
    columns (a statement built per call costs more Python than its round trip)."""
    return trades.update().where(trades.c.id == sa.bindparam("trade_id")).values(_new(columns)).returning(*trades.c)


def _new(columns: Iterable[str]) -> dict:
    return {name: sa.bindparam(f"new_{name}", type_=trades.c[name].type) for name in columns}


def _new_values(trade_id: str, now: datetime, changes: dict) -> dict:
    values = {f"new_{key}": value.value if isinstance(value, TradeStatus) else value for key, value in changes.items()}
    return {"trade_id": trade_id, **values, "new_updated_at": now}


def save(connection: Connection, trade: Trade, now: datetime, **changes) -> Trade:
    """Writes the changed columns; the caller holds the row lock (``load(for_update=True)``)."""
    row = connection.execute(_update_returning(frozenset(changes) | {"updated_at"}),
                             _new_values(trade.id, now, changes)).first()
    assert row is not None, "save() needs the trade it was given"
    return Trade.from_row(row)


ROW_VERSION = sa.cast(sa.literal_column("trades.xmin"), sa.String)
"""PostgreSQL: the id of the transaction that wrote the trade's row as it is (``xmin``): any
change to the row changes it. Read with the row, it lets a statement change the row only if
nobody has since (``save_if_unchanged``)."""


@functools.cache
def save_if_unchanged(columns: frozenset[str]) -> sa.Update:
    """PostgreSQL: ``UPDATE trades SET <columns> WHERE id = :trade_id AND <ROW_VERSION> =
    :row_version RETURNING id``, for a CTE: the row changed only if it is as it was read, without
    holding its lock in between. Bound by ``save_if_unchanged_values``."""
    return (trades.update().where(trades.c.id == sa.bindparam("trade_id"), ROW_VERSION == sa.bindparam("row_version"))
            .values(_new(columns | {"updated_at"})).returning(trades.c.id))


def save_if_unchanged_values(trade: Trade, row_version: str, now: datetime, **changes) -> tuple[Trade, dict]:
    """The trade as ``save_if_unchanged(frozenset(changes))`` makes it, and the values to bind."""
    changed = replace(trade, updated_at=now, **changes)
    return changed, {"row_version": row_version, **_new_values(trade.id, now, changes)}


def wallet(user_id: str, currency_code: str) -> AccountKey:
    return (AccountKind.USER_WALLET, user_id, currency_code)


def fee_account(platform_id: str, currency_code: str) -> AccountKey:
    return (AccountKind.PLATFORM_FEES, platform_id, currency_code)


def clearing_account(connector: str, currency_code: str) -> AccountKey:
    kind = AccountKind.CARD_CLEARING if connector == "sandbox_acquirer" else AccountKind.EWALLET_CLEARING
    return (kind, connector, currency_code)


def account_ids(connection: Connection, now: datetime, *keys: AccountKey) -> list[int]:
    """The ledger account ids of ``keys`` (``wallet(...)``, ``fee_account(...)``, ...), in
    order, opening any that do not exist yet: one statement for all of them."""
    return [account.id for account in ledger.open_accounts(connection, keys, now=now)]


def emit(connection: Connection, trade: Trade, event_type: str, now: datetime, **extra) -> None:
    """The platform's webhook for this change, queued in the same transaction."""
    from amanah.platforms.webhooks.service import emit as emit_event

    emit_event(connection, **_event(trade, event_type, now, extra))


def event_values(trade: Trade, event_type: str, now: datetime, **extra) -> dict:
    """``emit``'s event for a statement of one's own (``webhooks.emitted_with``): the values to bind."""
    from amanah.platforms.webhooks.service import event_values as values

    return values(**_event(trade, event_type, now, extra))


def _event(trade: Trade, event_type: str, now: datetime, extra: dict) -> dict:
    from amanah.trades.service.views import trade_payload

    return {"platform_id": trade.platform_id, "event_type": event_type, "subject_id": trade.id,
            "data": {**trade_payload(trade, base_url=None), **extra}, "now": now}
