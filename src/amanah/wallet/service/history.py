"""Payment history: every movement of the user's money, newest first, derived from the ledger.

**One line per ledger transfer that touches one of the user's wallet accounts.** The journal is
the only complete record of money — trades, top-ups, withdrawals, conversions and fees all end
up there, and a movement another domain adds later shows up without a change here. A transfer
never touches two wallets of one user (both sides share a currency and must differ), so each
movement appears exactly once. Its ``reference`` (trade, top-up, withdrawal or quote id) is
joined, one query per kind per page, for the counterparty, the subject and the trade's link.

**The amount is the change of the user's available balance, signed; ``held`` is the change of
what is held.** So the lines add up to the balances the user is shown. Paying holds the money:
``-X`` available, ``+X`` held; releasing it to the seller changes nothing available for the
buyer (``0``, held ``-X``) and makes it available to the seller (``+X``); a refund voids the
hold and gives the money back (``+X``). A hold's line also says how it ended: ``pending``
(still held), ``completed`` (posted) or ``returned`` (voided or expired).

**Order and pages.** Newest first by ``(created_at, seq)``; ``starting_after`` is a line's id
(its transfer's) and the next page is the keyset ``(created_at, seq) < (that line's)``. Each
(account, side) is read as its own ordered range of the ``(debit|credit)_account_id,
created_at, seq`` indexes (migration 0010), limited to the page size, and the few ranges are
merged: a page costs the same at the first line, a million lines deep or inside a date range.
A type filter narrows each range by transfer code (rare types read further)."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from amanah.core import limits
from amanah.core.db import UTCDateTime
from amanah.ledger import Account, TransferKind
from amanah.ledger.models import transfers
from amanah.wallet.errors import InvalidHistoryFilter
from amanah.wallet.service import references
from amanah.wallet.service.common import wallet_accounts

DEBIT, CREDIT = "debit", "credit"
TYPES: dict[str, frozenset[tuple[str, str]]] = {
    "topup": frozenset({("topup", CREDIT)}),
    "funding": frozenset({("trade_funding", CREDIT)}),
    "payment": frozenset({("trade_hold", DEBIT)}),
    "escrow_hold": frozenset({("trade_hold", CREDIT)}),
    "escrow_release": frozenset({("trade_release", DEBIT), ("trade_release", CREDIT)}),
    "refund": frozenset({("trade_refund", DEBIT), ("trade_refund", CREDIT)}),
    "fee": frozenset({("platform_fee", DEBIT)}),
    "conversion": frozenset({("fx_sell", DEBIT), ("fx_buy", CREDIT)}),
    "withdrawal": frozenset({("withdrawal_hold", DEBIT), ("withdrawal_paid", DEBIT), ("withdrawal_returned", DEBIT)}),
    "expiry": frozenset({("expire", DEBIT), ("expire", CREDIT)}),
}
"""A line's type from its transfer's code and the side the user's wallet is on. ``payment``
is the buyer's escrow hold, ``escrow_hold`` the seller's view of it; ``funding`` is a card or
e-wallet payment for a trade arriving on the balance on its way into escrow."""
_TYPE_OF = {pair: name for name, pairs in TYPES.items() for pair in pairs}
OTHER = "other"

_COLUMNS = [transfers.c.seq, transfers.c.id, transfers.c.kind, transfers.c.debit_account_id,
            transfers.c.credit_account_id, transfers.c.currency, transfers.c.amount, transfers.c.pending_id,
            transfers.c.code, transfers.c.reference, transfers.c.created_at]


@dataclass(frozen=True)
class HistoryFilter:
    types: frozenset[str] = frozenset()
    """Empty: every type."""
    currency: str | None = None
    start: datetime | None = None
    """Lines at or after this instant."""
    end: datetime | None = None
    """Lines before this instant."""

    def codes(self, side: str) -> set[str] | None:
        """Transfer codes to read on ``side``; None: all of them."""
        if not self.types:
            return None
        return {code for name in self.types for code, pair_side in TYPES[name] if pair_side == side}


@dataclass
class HistoryLine:
    id: str
    created_at: datetime
    type: str
    amount: int
    """Signed change of the available balance, in minor units."""
    held: int
    """Signed change of the held balance, in minor units."""
    currency: str
    status: str
    reference: str | None
    counterparty: str | None = None
    marketplace: str | None = None
    subject: str | None = None
    trade_id: str | None = None
    extra: dict = field(default_factory=dict)

    def to_dict(self, base_url: str) -> dict:
        trade_url = f"{base_url}/v1/trades/{self.trade_id}" if self.trade_id else None
        return {"id": self.id, "created_at": self.created_at, "type": self.type, "amount": self.amount,
                "held": self.held, "currency": self.currency, "status": self.status,
                "counterparty": self.counterparty, "marketplace": self.marketplace, "subject": self.subject,
                "trade_id": self.trade_id, "trade_url": trade_url, "reference": self.reference}


def page(connection: Connection, user_id: str, history_filter: HistoryFilter, *, limit: int,
         starting_after: str | None = None) -> tuple[list[HistoryLine], bool]:
    """One page of the user's history, newest first, and whether more lines follow."""
    every = wallet_accounts(connection, user_id)
    cursor = _cursor(connection, every, starting_after)  # a line of any currency: filters may change
    accounts = [a for a in every if history_filter.currency in (None, a.currency)]
    if not accounts:
        return [], False
    rows = connection.execute(*_page_query(accounts, history_filter, cursor, limit + 1)).all()
    lines = _lines(connection, user_id, {a.id for a in accounts}, rows[:limit])
    return lines, len(rows) > limit


def _cursor(connection: Connection, accounts: list[Account], starting_after: str | None):
    if starting_after is None:
        return None
    ids = {a.id for a in accounts}
    row = connection.execute(sa.select(transfers.c.created_at, transfers.c.seq, transfers.c.debit_account_id,
                                       transfers.c.credit_account_id).where(transfers.c.id == starting_after)).first()
    if row is None or not {row.debit_account_id, row.credit_account_id} & ids:
        raise InvalidHistoryFilter("starting_after must be the id of a line of this history.", param="starting_after")
    return row.created_at, row.seq


def _page_query(accounts: list[Account], history_filter: HistoryFilter, cursor, size: int):
    """The page's statement and its parameters. The statement depends only on the page's shape
    (how many ranges, which filters), so it is built once per shape and reused: building a union
    of subqueries is most of a page's Python time."""
    branches, params = [], {"size": size}
    for account in accounts:
        for side in (DEBIT, CREDIT):
            codes = history_filter.codes(side)
            if codes is not None and not codes:
                continue
            params[f"account_{len(branches)}"] = account.id
            if codes is not None:
                params[f"codes_{len(branches)}"] = sorted(codes)
            branches.append((side, codes is not None))
    if history_filter.start is not None:
        params["start"] = history_filter.start
    if history_filter.end is not None:
        params["end"] = history_filter.end
    if cursor is not None:
        params["cursor_created_at"], params["cursor_seq"] = cursor
    shape = (tuple(branches), history_filter.start is not None, history_filter.end is not None, cursor is not None)
    return _statement(shape), params


@functools.lru_cache(maxsize=limits.HISTORY_QUERY_SHAPES_CACHED)
def _statement(shape):
    branches, has_start, has_end, has_cursor = shape
    if not branches:
        return sa.select(*_COLUMNS).where(sa.false())
    order = (transfers.c.created_at.desc(), transfers.c.seq.desc())
    size = sa.bindparam("size", type_=sa.Integer)
    selects = []
    for index, (side, has_codes) in enumerate(branches):
        column = transfers.c.debit_account_id if side == DEBIT else transfers.c.credit_account_id
        conditions = [column == sa.bindparam(f"account_{index}", type_=sa.BigInteger)]
        if has_codes:
            conditions.append(transfers.c.code.in_(sa.bindparam(f"codes_{index}", expanding=True)))
        conditions += _range_conditions(has_start, has_end, has_cursor)
        query = sa.select(*_COLUMNS).where(*conditions).order_by(*order).limit(size)
        selects.append(sa.select(query.subquery()))
    merged = sa.union_all(*selects).subquery()
    return sa.select(merged).order_by(merged.c.created_at.desc(), merged.c.seq.desc()).limit(size)


def _range_conditions(has_start: bool, has_end: bool, has_cursor: bool) -> list:
    conditions = []
    if has_start:
        conditions.append(transfers.c.created_at >= sa.bindparam("start", type_=UTCDateTime))
    if has_end:
        conditions.append(transfers.c.created_at < sa.bindparam("end", type_=UTCDateTime))
    if has_cursor:
        created_at = sa.bindparam("cursor_created_at", type_=UTCDateTime)
        # The plain bound lets both databases start the index range there; the pair is exact.
        conditions.append(transfers.c.created_at <= created_at)
        conditions.append(sa.tuple_(transfers.c.created_at, transfers.c.seq)
                          < sa.tuple_(created_at, sa.bindparam("cursor_seq", type_=sa.BigInteger)))
    return conditions


def _lines(connection: Connection, user_id: str, account_ids: set[int], rows: list) -> list[HistoryLine]:
    pending_ids = [row.id for row in rows if row.kind == TransferKind.PENDING.value]
    resolutions = references.resolutions(connection, pending_ids)
    holds = references.pending_transfers(connection, [row.pending_id for row in rows if row.pending_id])
    lines = [_line(row, account_ids, resolutions, holds) for row in rows]
    references.describe(connection, user_id, lines, rows)
    return lines


def _line(row, account_ids: set[int], resolutions: dict[str, str], holds: dict) -> HistoryLine:
    side = DEBIT if row.debit_account_id in account_ids else CREDIT
    hold = holds.get(row.pending_id) if row.pending_id else None
    available, held = _changes(row, side, hold.amount if hold else row.amount)
    status = "completed"
    if row.kind == TransferKind.PENDING.value:
        resolved = resolutions.get(row.id)
        status = {None: "pending", TransferKind.POST_PENDING.value: "completed"}.get(resolved, "returned")
    # An expiry carries no reference of its own: the hold it ends says what it was for.
    reference = row.reference or (hold.reference if hold else None)
    return HistoryLine(row.id, row.created_at, _TYPE_OF.get((row.code, side), OTHER), available, held,
                       row.currency, status, reference)


def _changes(row, side: str, held_amount: int) -> tuple[int, int]:
    """(available, held) changes of the user's wallet; a post's ``amount`` may be less than its
    hold's (``held_amount``), the rest going back to the payer."""
    amount, kind = row.amount, TransferKind(row.kind)
    if kind is TransferKind.DIRECT:
        return (-amount, 0) if side == DEBIT else (amount, 0)
    if kind is TransferKind.PENDING:
        return (-amount, amount) if side == DEBIT else (0, amount)
    if kind is TransferKind.POST_PENDING:
        return (held_amount - amount, -held_amount) if side == DEBIT else (amount, -held_amount)
    return (held_amount, -held_amount) if side == DEBIT else (0, -held_amount)  # void, expire


def iterate(connection_factory, user_id: str, history_filter: HistoryFilter, *, page_size: int,
            rows_max: int) -> Iterable[HistoryLine]:
    """Every line (up to ``rows_max``), page by page, each page on a short connection of its own
    (a CSV export streams while the ledger keeps writing)."""
    after, sent = None, 0
    while sent < rows_max:
        with connection_factory() as connection:
            lines, more = page(connection, user_id, history_filter, limit=min(page_size, rows_max - sent),
                               starting_after=after)
        yield from lines
        sent += len(lines)
        if not more or not lines:
            return
        after = lines[-1].id


def parse_types(text: str | None) -> frozenset[str]:
    if not text:
        return frozenset()
    names = frozenset(part.strip() for part in text.split(",") if part.strip())
    unknown = sorted(names - TYPES.keys())
    if unknown:
        raise InvalidHistoryFilter(f"Unknown type {unknown[0][:40]!r}; use one or more of: {', '.join(TYPES)}.",
                                   param="type")
    return names
