"""Payment history: every movement of the user's money, newest first, derived from the ledger.

**One line per ledger transfer that touches one of the user's wallet accounts.** The journal is
the only complete record of money — trades, top-ups, withdrawals, conversions and fees all end
up there, and a movement another domain adds later shows up without a change here. A transfer
never touches two wallets of one user (both sides share a currency and must differ), so each
movement appears exactly once. Its ``reference`` (trade, top-up, withdrawal or quote id) is
joined, in the page's own statement (``references.py``), for the counterparty, the subject and
the trade's link.

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
A type filter narrows each range by transfer code (rare types read further). The ranges read
only their index's keys; the page's transfers are then fetched by primary key and joined to
what they refer to, so a page is two statements (three after a cursor), whatever it holds.
Each is built once per shape and bound: building and compiling SQL, not the database, was most
of a page's time (``_statement``)."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from amanah.core import limits
from amanah.core.db import UTCDateTime
from amanah.ledger import AccountKind, TransferKind
from amanah.ledger.models import accounts, transfers
from amanah.wallet.errors import InvalidHistoryFilter
from amanah.wallet.service import references

DEBIT, CREDIT = "debit", "credit"
TYPES: dict[str, frozenset[tuple[str, str]]] = {
    "topup": frozenset({("topup", CREDIT)}),
    "funding": frozenset({("trade_funding", CREDIT)}),
    "payment": frozenset({("trade_hold", DEBIT)}),
    "escrow_hold": frozenset({("trade_hold", CREDIT)}),
    "escrow_release": frozenset({("trade_release", DEBIT), ("trade_release", CREDIT)}),
    "refund": frozenset({("trade_refund", DEBIT), ("trade_refund", CREDIT), ("platform_fee_refund", CREDIT)}),
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
_PENDING = TransferKind.PENDING.value
_STATUS_OF_RESOLUTION = {None: "pending", TransferKind.POST_PENDING.value: "completed"}
"""A hold's status from how it was resolved; any other resolution (void, expiry) returned it."""

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
    """One page of the user's history, newest first, and whether more lines follow: two
    statements (three with ``starting_after``), each built once per shape."""
    every = connection.execute(_WALLETS, {"user_id": user_id}).all()
    cursor = _cursor(connection, every, starting_after)  # a line of any currency: filters may change
    wallets = [(account_id, code) for account_id, code in every if history_filter.currency in (None, code)]
    if not wallets:
        return [], False
    rows = connection.execute(*_page_query(wallets, history_filter, cursor, limit + 1)).all()
    account_ids = {account_id for account_id, _ in wallets}
    return [_line(row, user_id, account_ids) for row in rows[:limit]], len(rows) > limit


_WALLETS = (sa.select(accounts.c.id, accounts.c.currency)
            .where(accounts.c.kind == AccountKind.USER_WALLET.value, accounts.c.owner_ref == sa.bindparam("user_id"))
            .order_by(accounts.c.currency))
"""The user's wallet accounts, (id, currency), as ``common.wallet_accounts`` reads them but only
the two columns a page needs, in a statement built once."""

_CURSOR = sa.select(transfers.c.created_at, transfers.c.seq, transfers.c.debit_account_id,
                    transfers.c.credit_account_id).where(transfers.c.id == sa.bindparam("starting_after"))


def _cursor(connection: Connection, wallets: list, starting_after: str | None):
    if starting_after is None:
        return None
    ids = {account_id for account_id, _ in wallets}
    row = connection.execute(_CURSOR, {"starting_after": starting_after}).first()
    if row is None or not {row.debit_account_id, row.credit_account_id} & ids:
        raise InvalidHistoryFilter("starting_after must be the id of a line of this history.", param="starting_after")
    return row.created_at, row.seq


def _page_query(wallets: list[tuple[int, str]], history_filter: HistoryFilter, cursor, size: int):
    """The page's statement and its parameters. The statement depends only on the page's shape
    (how many ranges, which codes, which bounds, its size), so it is built once per shape and
    reused with fresh values: building a union of subqueries is most of a page's Python time.
    Codes and size are part of the shape: the codes are bound one by one (no list expanded per
    call) and the size is written into the SQL, so that PostgreSQL's planner knows it even in a
    prepared statement's generic plan (psycopg prepares a statement on its fifth run)."""
    branches, params = [], {}
    for account_id, _ in wallets:
        for side in (DEBIT, CREDIT):
            codes = history_filter.codes(side)
            if codes is not None and not codes:
                continue
            params[f"account_{len(branches)}"] = account_id
            branches.append((side, None if codes is None else tuple(sorted(codes))))
    if history_filter.start is not None:
        params["start"] = history_filter.start
    if history_filter.end is not None:
        params["end"] = history_filter.end
    if cursor is not None:
        params["cursor_created_at"], params["cursor_seq"] = cursor
    shape = (tuple(branches), history_filter.start is not None, history_filter.end is not None, cursor is not None,
             size)
    return _statement(shape), params


_LINE = transfers.alias("line")
_LINE_COLUMNS = [_LINE.c.id, _LINE.c.kind, _LINE.c.debit_account_id, _LINE.c.currency, _LINE.c.amount, _LINE.c.code,
                 _LINE.c.reference, _LINE.c.created_at]
"""What ``_line`` reads of a line's own transfer, in this order; ``references.COLUMNS`` follow."""


@functools.lru_cache(maxsize=limits.HISTORY_QUERY_SHAPES_CACHED)
def _statement(shape):
    """The page in one statement: each range reads only its index's keys ``(created_at, seq)``;
    the merged, limited keys fetch their transfers by primary key, then what each refers to
    (``references.joined``). Small SQL: psycopg caches the parsing of statements up to 4 kB."""
    branches, has_start, has_end, has_cursor, size = shape
    assert type(size) is int and size > 0
    limit = sa.literal_column(str(size), sa.Integer)
    order = (transfers.c.created_at.desc(), transfers.c.seq.desc())
    selects = []
    for index, (side, codes) in enumerate(branches):
        column = transfers.c.debit_account_id if side == DEBIT else transfers.c.credit_account_id
        conditions = [column == sa.bindparam(f"account_{index}", type_=sa.BigInteger)]
        if codes is not None:
            conditions.append(transfers.c.code.in_([sa.literal(code, sa.String) for code in codes]))
        conditions += _range_conditions(has_start, has_end, has_cursor)
        query = sa.select(transfers.c.created_at, transfers.c.seq).where(*conditions).order_by(*order).limit(limit)
        selects.append(sa.select(query.subquery(f"r{index}")))
    if not selects:
        selects.append(sa.select(transfers.c.created_at, transfers.c.seq).where(sa.false()))
    merged = sa.union_all(*selects).subquery("m") if len(selects) > 1 else selects[0].subquery("m")
    keys = (sa.select(merged.c.seq).order_by(merged.c.created_at.desc(), merged.c.seq.desc()).limit(limit)
            .subquery("page"))
    lines = keys.join(_LINE, _LINE.c.seq == keys.c.seq)
    return (sa.select(*_LINE_COLUMNS, *references.COLUMNS).select_from(references.joined(lines, _LINE))
            .order_by(_LINE.c.created_at.desc(), _LINE.c.seq.desc()))


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


def _line(row, user_id: str, account_ids: set[int]) -> HistoryLine:
    # Unpacked once: a row's attributes cost a microsecond each, and a page reads 20 rows.
    (line_id, kind, debit_account_id, currency, amount, code, reference, created_at,
     resolved_kind, hold_amount, hold_reference, *referred) = row
    side = DEBIT if debit_account_id in account_ids else CREDIT
    has_hold = hold_amount is not None  # the hold this transfer posts, voids or expires
    available, held = _changes(kind, amount, side, hold_amount if has_hold else amount)
    status = _STATUS_OF_RESOLUTION.get(resolved_kind, "returned") if kind == _PENDING else "completed"
    # An expiry carries no reference of its own: the hold it ends says what it was for.
    reference = reference or (hold_reference if has_hold else None)
    line = HistoryLine(line_id, created_at, _TYPE_OF.get((code, side), OTHER), available, held, currency, status,
                       reference)
    references.describe(line, referred, user_id)
    return line


def _changes(kind: str, amount: int, side: str, held_amount: int) -> tuple[int, int]:
    """(available, held) changes of the user's wallet; a post's ``amount`` may be less than its
    hold's (``held_amount``), the rest going back to the payer."""
    if kind == TransferKind.DIRECT:
        return (-amount, 0) if side == DEBIT else (amount, 0)
    if kind == TransferKind.PENDING:
        return (-amount, amount) if side == DEBIT else (0, amount)
    if kind == TransferKind.POST_PENDING:
        return (held_amount - amount, -held_amount) if side == DEBIT else (amount, -held_amount)
    assert kind in (TransferKind.VOID_PENDING, TransferKind.EXPIRE_PENDING), kind
    return (held_amount, -held_amount) if side == DEBIT else (0, -held_amount)


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
