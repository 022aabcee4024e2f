"""The ledger's explicit SQL: each function is one statement, one round trip."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from amanah.core.clock import utc
from amanah.core.db import OnDriver
from amanah.ledger.models import accounts, transfers
from amanah.ledger.types import Account, AccountKey, AccountKind, Transfer, TransferKind, TransferRequest

_ACCOUNT_COLUMNS = [
    accounts.c.id, accounts.c.currency, accounts.c.kind, accounts.c.owner_ref,
    accounts.c.debits_must_not_exceed_credits, accounts.c.credits_must_not_exceed_debits,
    accounts.c.debits_posted, accounts.c.credits_posted,
    accounts.c.debits_pending, accounts.c.credits_pending,
]
_TRANSFER_COLUMNS = [
    transfers.c.id, transfers.c.kind, transfers.c.debit_account_id, transfers.c.credit_account_id,
    transfers.c.currency, transfers.c.amount, transfers.c.pending_id, transfers.c.timeout_s,
    transfers.c.expires_at, transfers.c.code, transfers.c.reference, transfers.c.created_at,
    transfers.c.seq,
]

_select_accounts = sa.select(*_ACCOUNT_COLUMNS)
_lock_accounts = (
    sa.select(*_ACCOUNT_COLUMNS)
    .where(accounts.c.id.in_(sa.bindparam("ids", expanding=True)))
    # A fixed lock order: two batches touching the same accounts never deadlock.
    .order_by(accounts.c.id)
    .with_for_update()
)
_select_transfers = sa.select(*_TRANSFER_COLUMNS).where(
    transfers.c.id.in_(sa.bindparam("ids", expanding=True))
)
_select_resolutions = sa.select(transfers.c.pending_id, transfers.c.kind).where(
    transfers.c.pending_id.in_(sa.bindparam("ids", expanding=True))
)
_add_to_balances = (
    accounts.update()
    .where(accounts.c.id == sa.bindparam("account_id"))
    .values(
        debits_posted=accounts.c.debits_posted + sa.bindparam("d_debits_posted"),
        credits_posted=accounts.c.credits_posted + sa.bindparam("d_credits_posted"),
        debits_pending=accounts.c.debits_pending + sa.bindparam("d_debits_pending"),
        credits_pending=accounts.c.credits_pending + sa.bindparam("d_credits_pending"),
    )
)


def account_from_row(row) -> Account:
    return Account(
        row.id, row.currency, AccountKind(row.kind), row.owner_ref,
        bool(row.debits_must_not_exceed_credits), bool(row.credits_must_not_exceed_debits),
        row.debits_posted, row.credits_posted, row.debits_pending, row.credits_pending,
    )


def transfer_from_row(row) -> Transfer:
    return Transfer(
        row.id, TransferKind(row.kind), row.debit_account_id, row.credit_account_id, row.currency,
        row.amount, row.pending_id, row.timeout_s, row.expires_at, row.code, row.reference,
        row.created_at, row.seq,
    )


def select_account(connection: Connection, account_id: int) -> Account | None:
    row = connection.execute(_select_accounts.where(accounts.c.id == account_id)).first()
    return account_from_row(row) if row else None


_find_accounts = sa.select(*_ACCOUNT_COLUMNS).where(
    sa.tuple_(accounts.c.kind, accounts.c.owner_ref, accounts.c.currency).in_(sa.bindparam("keys", expanding=True))
)


def account_id_of(kind: AccountKind, owner_ref, currency) -> sa.ScalarSelect:
    """The id of the account of this kind, owner and currency (values, or columns of the
    caller's statement), NULL when there is none: a scalar subquery, by the accounts' unique
    (kind, owner_ref, currency) index."""
    return sa.select(accounts.c.id).where(
        accounts.c.kind == kind.value, accounts.c.owner_ref == owner_ref, accounts.c.currency == currency,
    ).scalar_subquery()


def find_accounts(connection: Connection, keys: Collection[AccountKey]) -> dict[AccountKey, Account]:
    """The accounts that exist among ``keys``, in one statement."""
    if not keys:
        return {}
    rows = connection.execute(_find_accounts, {"keys": [(kind.value, owner, currency) for kind, owner, currency in keys]})
    return {(AccountKind(row.kind), row.owner_ref, row.currency): account_from_row(row) for row in rows}


def lock_accounts(connection: Connection, account_ids: Collection[int]) -> dict[int, Account]:
    if not account_ids:
        return {}
    rows = connection.execute(_lock_accounts, {"ids": sorted(account_ids)})
    return {row.id: account_from_row(row) for row in rows}


def select_transfers(connection: Connection, transfer_ids: Collection[str]) -> dict[str, Transfer]:
    if not transfer_ids:
        return {}
    rows = connection.execute(_select_transfers, {"ids": list(transfer_ids)})
    return {row.id: transfer_from_row(row) for row in rows}


def select_resolutions(connection: Connection, pending_ids: Collection[str]) -> dict[str, TransferKind]:
    if not pending_ids:
        return {}
    rows = connection.execute(_select_resolutions, {"ids": list(pending_ids)})
    return {row.pending_id: TransferKind(row.kind) for row in rows}


# PostgreSQL: one statement writes the whole batch, whatever its size: the new transfers and
# each account's net change. The rows travel as two JSON documents read by jsonb_to_recordset:
# the SQL text never changes (compiled once, whatever the batch's size), and a JSON string is
# one parameter for psycopg to send, where arrays were one per column, each dumped element by
# element in Python (a single transfer's write: 135 us of client CPU with arrays, 62 with
# JSON, measured here). Data-modifying WITH clauses always run to completion; a duplicate
# transfer id fails the whole statement.
_write_batch_postgres = sa.text(
    "WITH inserted AS (INSERT INTO ledger_transfers (id, kind, debit_account_id, credit_account_id, currency,"
    "  amount, pending_id, timeout_s, expires_at, code, reference, created_at)"
    "  SELECT * FROM jsonb_to_recordset(CAST(:transfers AS jsonb)) AS new(id text, kind text,"
    "  debit_account_id bigint, credit_account_id bigint, currency text, amount bigint, pending_id text,"
    "  timeout_s integer, expires_at timestamptz, code text, reference text, created_at timestamptz)"
    "  RETURNING 1),"
    " updated AS (UPDATE ledger_accounts SET debits_posted = ledger_accounts.debits_posted + change.d_debits_posted,"
    "  credits_posted = ledger_accounts.credits_posted + change.d_credits_posted,"
    "  debits_pending = ledger_accounts.debits_pending + change.d_debits_pending,"
    "  credits_pending = ledger_accounts.credits_pending + change.d_credits_pending"
    "  FROM jsonb_to_recordset(CAST(:deltas AS jsonb)) AS change(account_id bigint, d_debits_posted bigint,"
    "  d_credits_posted bigint, d_debits_pending bigint, d_credits_pending bigint)"
    "  WHERE ledger_accounts.id = change.account_id RETURNING 1)"
    " SELECT (SELECT count(*) FROM inserted) AS inserted, (SELECT count(*) FROM updated) AS updated"
)


_A = ("id", "currency", "kind", "owner_ref", "debits_must_not_exceed_credits", "credits_must_not_exceed_debits",
      "debits_posted", "credits_posted", "debits_pending", "credits_pending")
_T = ("id", "kind", "debit_account_id", "credit_account_id", "currency", "amount", "pending_id", "timeout_s",
      "expires_at", "code", "reference", "created_at", "seq")
_T_START = len(_A)  # a read row after its part: the account's columns, then the transfer's
_A_NULLS = ", ".join(f"NULL AS a_{c}" for c in _A)
_T_NULLS = ", ".join(f"NULL AS t_{c}" for c in _T)
_A_COLUMNS = ", ".join(f"locked.{c}" for c in _A)
_T_COLUMNS = ", ".join(f"t.{c}" for c in _T)
# One round trip for a batch's reads on PostgreSQL: lock its accounts (those it names and those
# of the holds it resolves) in id order, read the transfers it names, and how its holds were
# resolved. The transfers are read from the statement's snapshot, taken before the locks were
# granted; a concurrent batch that wrote the same id or resolved the same hold meanwhile is
# caught by the unique constraints at INSERT, and the transaction runs again (RetryTransaction).
_LOCKED_AND_FOUND = (
    f" SELECT 'account' AS part, {_A_COLUMNS}, {_T_NULLS} FROM locked"
    f" UNION ALL SELECT 'transfer', {_A_NULLS.replace('NULL AS a_', 'NULL AS b_')}, {_T_COLUMNS}"
    " FROM unnest(CAST(:transfer_ids AS text[])) AS wanted(id) JOIN ledger_transfers t ON t.id = wanted.id"
)
# Every id list is unnested and joined, so the plan is an index look-up per id whatever the
# list's length (a generic plan for "= ANY(array)" may scan the whole journal instead).
_read_batch_postgres = sa.text(
    "WITH pending AS (SELECT t.debit_account_id, t.credit_account_id"
    "  FROM unnest(CAST(:pending_ids AS text[])) AS wanted(id) JOIN ledger_transfers t ON t.id = wanted.id),"
    " locked AS ("
    f" SELECT {', '.join(_A)} FROM ledger_accounts"
    " WHERE id IN (SELECT unnest(CAST(:account_ids AS bigint[]))"
    "  UNION SELECT debit_account_id FROM pending UNION SELECT credit_account_id FROM pending)"
    " ORDER BY id FOR UPDATE)"
    + _LOCKED_AND_FOUND +
    f" UNION ALL SELECT 'resolution', {_A_NULLS.replace('NULL AS a_', 'NULL AS c_')}, {_T_COLUMNS}"
    " FROM unnest(CAST(:pending_ids AS text[])) AS wanted(id) JOIN ledger_transfers t ON t.pending_id = wanted.id"
)
# The same for a batch that resolves no hold (most of them): half the joins, and PostgreSQL
# plans it (every time: its arrays keep it on custom plans) in half the time.
_read_batch_postgres_no_holds = sa.text(
    f"WITH locked AS (SELECT {', '.join(_A)} FROM ledger_accounts"
    " WHERE id IN (SELECT unnest(CAST(:account_ids AS bigint[]))) ORDER BY id FOR UPDATE)"
    + _LOCKED_AND_FOUND
)


@dataclass(frozen=True)
class BatchReads:
    transfers: dict[str, Transfer]
    """The transfers stored under the ids asked for (the batch's own ids and the holds it names)."""
    accounts: dict[int, Account]
    """Locked, in id order: the accounts named and those of the holds named."""
    resolutions: dict[str, TransferKind]
    """For each hold named that was posted, voided or expired: how."""


def read_batch(connection: Connection, transfer_ids: Collection[str], pending_ids: Collection[str],
               account_ids: Collection[int]) -> BatchReads:
    if connection.dialect.name != "postgresql":  # SQLite: in-process, three cheap statements
        transfers_ = select_transfers(connection, set(transfer_ids) | set(pending_ids))
        accounts_ = set(account_ids)
        for pending_id in pending_ids:
            if pending_id in transfers_:
                accounts_ |= {transfers_[pending_id].debit_account_id, transfers_[pending_id].credit_account_id}
        resolutions = select_resolutions(connection, [i for i in pending_ids if i in transfers_])
        return BatchReads(transfers_, lock_accounts(connection, accounts_), resolutions)
    parameters = {"account_ids": sorted(account_ids), "transfer_ids": list(set(transfer_ids) | set(pending_ids))}
    if pending_ids:
        rows = connection.execute(_read_batch_postgres, {**parameters, "pending_ids": list(pending_ids)})
    else:
        rows = connection.execute(_read_batch_postgres_no_holds, parameters)
    found, locked, resolutions = {}, {}, {}
    for part, *values in rows:  # by position, in _A's then _T's order
        if part == "account":
            (id_, currency, kind, owner_ref, debits_limited, credits_limited,
             debits_posted, credits_posted, debits_pending, credits_pending) = values[:_T_START]
            locked[id_] = Account(id_, currency, AccountKind(kind), owner_ref, bool(debits_limited),
                                  bool(credits_limited), debits_posted, credits_posted, debits_pending, credits_pending)
            continue
        (id_, kind, debit, credit, currency, amount, pending_id, timeout_s, expires_at, code, reference,
         created_at, seq) = values[_T_START:]
        transfer = Transfer(id_, TransferKind(kind), debit, credit, currency, amount, pending_id, timeout_s,
                            expires_at and utc(expires_at), code, reference, utc(created_at), seq)  # as UTCDateTime
        if part == "transfer":
            found[id_] = transfer
        else:
            resolutions[pending_id] = transfer.kind
    return BatchReads(found, locked, resolutions)


_TRANSFER_ONE_ARGUMENTS = (
    ("id", sa.String), ("kind", sa.String), ("debit", sa.BigInteger), ("credit", sa.BigInteger),
    ("amount", sa.BigInteger), ("timeout_s", sa.Integer), ("expires_at", sa.DateTime(timezone=True)),
    ("code", sa.String), ("reference", sa.String), ("now", sa.DateTime(timezone=True)),
)
_TRANSFER_ONE_BINDS = [sa.bindparam(f"transfer_{name}", type_=type_) for name, type_ in _TRANSFER_ONE_ARGUMENTS]
_TRANSFER_ONE = OnDriver(sa.select(sa.func.ledger_transfer_one(*_TRANSFER_ONE_BINDS, type_=sa.String)))

TRANSFER_ONE_OR_RAISE = sa.func.ledger_transfer_one_or_raise(*_TRANSFER_ONE_BINDS, type_=sa.String)
"""``ledger_transfer_one_or_raise(...)`` (migration 0017) as an expression for a statement of
the caller's, bound by ``transfer_one_values``: the transfer applied, or SQLSTATE
``NOT_APPLIED_SQLSTATE`` raised where ``ledger_transfer_one`` returns NULL."""

NOT_APPLIED_SQLSTATE = "AMN01"


def transfer_one_values(request: TransferRequest, *, now: datetime, expires_at: datetime | None) -> dict:
    """The bound values of ``TRANSFER_ONE_OR_RAISE`` (and of ``transfer_one``'s call) for this transfer."""
    arguments = (request.id, request.kind.value, request.debit_account_id, request.credit_account_id,
                 request.amount, request.timeout_s, expires_at, request.code, request.reference, now)
    return {f"transfer_{name}": value for (name, _), value in zip(_TRANSFER_ONE_ARGUMENTS, arguments)}


def transfer_one(connection: Connection, request: TransferRequest, *, now: datetime,
                 expires_at: datetime | None) -> str | None:
    """PostgreSQL: applies one direct or pending transfer in one round trip if it is plainly
    valid (``ledger_transfer_one``, migrations 0014 and 0016); the currency moved, or None when it wrote
    nothing and the engine must judge the transfer.

    The call goes straight to the driver (``OnDriver``): SQLAlchemy's own execution (compiling
    the parameters, a result object with its column map) costs about a fifth of a single
    transfer's client CPU, and a single transfer's wall at eight clients on two cores is CPU
    (issue #10, ``benchmarks/ledger_throughput.py``)."""
    return _TRANSFER_ONE.execute(connection, transfer_one_values(request, now=now, expires_at=expires_at))[0][0]


def _transfer_row(t: Transfer) -> dict:
    return {
        "id": t.id, "kind": t.kind.value, "debit_account_id": t.debit_account_id,
        "credit_account_id": t.credit_account_id, "currency": t.currency, "amount": t.amount,
        "pending_id": t.pending_id, "timeout_s": t.timeout_s, "expires_at": t.expires_at,
        "code": t.code, "reference": t.reference, "created_at": t.created_at,
    }


def write_batch(connection: Connection, new: Iterable[Transfer], deltas: list[dict[str, int]]) -> None:
    """Inserts the batch's new transfers and adds each account's net change (``deltas``: one
    dict per account, ``account_id`` and ``d_debits_posted`` ... ``d_credits_pending``): adding,
    not setting, so the CHECK constraints judge the result even if a lock were ever missed. One
    statement on PostgreSQL; on SQLite (in process, no round trips) an executemany each. A
    duplicate id raises ``IntegrityError``."""
    rows = [_transfer_row(t) for t in new]
    if not rows and not deltas:
        return
    if connection.dialect.name == "postgresql":
        for row in rows:  # JSON has no datetimes: ISO 8601 with the offset, read as timestamptz
            assert row["created_at"].tzinfo is not None
            row["created_at"] = row["created_at"].isoformat()
            row["expires_at"] = row["expires_at"] and row["expires_at"].isoformat()
        written = connection.execute(_write_batch_postgres, {
            "transfers": json.dumps(rows, separators=(",", ":")), "deltas": json.dumps(deltas, separators=(",", ":"))
        }).one()
        assert (written.inserted, written.updated) == (len(rows), len(deltas)), "a batch's account went missing"
        return
    if rows:
        connection.execute(transfers.insert(), rows)
    if deltas:
        connection.execute(_add_to_balances, deltas)


def due_pendings_query(now: datetime, limit: int) -> sa.Select:
    """Holds whose timeout has passed and that nothing resolved, oldest first (through the
    partial index on ``expires_at``, migration 0015)."""
    resolver = transfers.alias("resolver")
    return (
        sa.select(*_TRANSFER_COLUMNS)
        .where(
            transfers.c.kind == TransferKind.PENDING.value,
            transfers.c.expires_at <= now,
            ~sa.exists().where(resolver.c.pending_id == transfers.c.id),
        )
        .order_by(transfers.c.expires_at, transfers.c.seq)
        .limit(limit)
    )


def select_due_pendings(connection: Connection, now: datetime, limit: int) -> list[Transfer]:
    return [transfer_from_row(row) for row in connection.execute(due_pendings_query(now, limit))]
