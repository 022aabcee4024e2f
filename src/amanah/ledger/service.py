"""The ledger's use cases: open accounts, create transfers (in batches), expire holds.

All take the caller's connection: the edge owns the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError

from amanah.core import limits, metrics
from amanah.core.db import RetryTransaction, insert_on_conflict, sqlstate
from amanah.core.errors import InvalidRequest, NotFound
from amanah.core.ids import new_id
from amanah.ledger import sql
from amanah.ledger.engine import Balances, BatchState, apply_batch, check_fields
from amanah.ledger.errors import transfer_refused
from amanah.ledger.models import accounts
from amanah.ledger.types import (
    CREDIT_NORMAL_KINDS,
    RESOLVING_KINDS,
    Account,
    AccountKey,
    AccountKind,
    Transfer,
    TransferKind,
    TransferOutcome,
    TransferRequest,
    TransferResult as R,
)


def open_account(connection: Connection, *, kind: AccountKind, owner_ref: str, currency: str,
                 now: datetime) -> Account:
    """The account of this kind, owner and currency, created if it does not exist yet.

    Safe under concurrency: two callers opening the same account get the same one."""
    return open_accounts(connection, [(kind, owner_ref, currency)], now=now)[0]


def open_accounts(connection: Connection, keys: Sequence[AccountKey], *, now: datetime) -> list[Account]:
    """``open_account`` for several (kind, owner, currency) at once, in their order: one
    statement when they all exist (the usual case), three when some must be created."""
    found = sql.find_accounts(connection, set(keys))
    missing = [key for key in dict.fromkeys(keys) if key not in found]
    if missing:
        insert = insert_on_conflict(connection, accounts)
        connection.execute(insert.on_conflict_do_nothing(index_elements=["kind", "owner_ref", "currency"]), [
            {"currency": currency, "kind": kind.value, "owner_ref": owner_ref,
             "debits_must_not_exceed_credits": kind in CREDIT_NORMAL_KINDS,
             "credits_must_not_exceed_debits": False, "created_at": now}
            for kind, owner_ref, currency in missing
        ])
        found.update(sql.find_accounts(connection, missing))
    return [found[key] for key in keys]


def get_account(connection: Connection, account_id: int) -> Account:
    account = sql.select_account(connection, account_id)
    if account is None:
        raise NotFound(f"No ledger account {account_id}.")
    return account


def create_transfers(connection: Connection, requests: Sequence[TransferRequest], *,
                     now: datetime) -> list[TransferOutcome]:
    """Applies a batch of transfers in the caller's transaction, each with its own result.

    Round trips on PostgreSQL: one to lock its accounts in id order and read the transfers it
    names and how its holds were resolved; one to insert the new transfers and add each
    account's net change. A batch of one plainly valid direct or pending transfer (the usual
    single payment) is one round trip: ``_transfer_one``."""
    if not 0 < len(requests) <= limits.BATCH_TRANSFERS_MAX:
        raise InvalidRequest(f"A batch holds 1 to {limits.BATCH_TRANSFERS_MAX} transfers.")
    if len(requests) == 1 and connection.dialect.name == "postgresql":
        applied = _transfer_one(connection, requests[0], now)
        if applied is not None:
            return [applied]
    pending_ids = {r.pending_id for r in requests if r.kind in RESOLVING_KINDS and r.pending_id}
    account_ids = {i for r in requests for i in (r.debit_account_id, r.credit_account_id) if i}
    reads = sql.read_batch(connection, {r.id for r in requests}, pending_ids, account_ids)
    known, locked = reads.transfers, reads.accounts
    pendings = {i: known[i] for i in pending_ids if i in known}
    state = BatchState(
        now=now,
        balances={account_id: Balances.of(account) for account_id, account in locked.items()},
        existing={r.id: known[r.id] for r in requests if r.id in known},
        pendings=pendings,
        resolutions={i: kind for i, kind in reads.resolutions.items() if i in pendings},
    )
    outcomes = apply_batch(state, list(requests))
    _write(connection, state, locked)
    metrics.count_transfers(connection, (t.kind.value for t in state.created.values()))
    return outcomes


def _transfer_one(connection: Connection, request: TransferRequest, now: datetime) -> TransferOutcome | None:
    """PostgreSQL's fast path for a batch of one: the transfer applied by one call of
    ``ledger_transfer_one`` (migrations 0014, 0016) when it is plainly valid; None when that function
    wrote nothing (a missing account, two currencies, a limit, an id already used, ...) and the
    engine must judge it, in the same transaction. The fields are checked here first, by the
    engine's own rules."""
    if not _plain(request):
        return None
    expires_at = _expires_at(request, now)
    try:
        currency = sql.transfer_one(connection, request, now=now, expires_at=expires_at)
    except IntegrityError as error:
        _raise_retry_if_unique_violation(error)
        raise
    if currency is None:
        return None
    metrics.count_transfers(connection, [request.kind.value])
    return TransferOutcome(R.OK, Transfer(
        request.id, request.kind, request.debit_account_id, request.credit_account_id, currency, request.amount,
        None, request.timeout_s, expires_at, request.code, request.reference, now))


def _plain(request: TransferRequest) -> bool:
    """A direct or pending transfer, unlinked, between two given accounts, with valid fields:
    one for the fast path (which still writes nothing unless both accounts allow it)."""
    return (request.kind in (TransferKind.DIRECT, TransferKind.PENDING) and not request.linked
            and bool(request.debit_account_id) and bool(request.credit_account_id) and check_fields(request) is None)


def _expires_at(request: TransferRequest, now: datetime) -> datetime | None:
    return now + timedelta(seconds=request.timeout_s) if request.timeout_s is not None else None


def transfer_in_statement(request: TransferRequest, *, now: datetime) -> dict | None:
    """PostgreSQL, for a statement of the caller's that calls ``sql.TRANSFER_ONE_OR_RAISE`` and
    must write nothing unless the transfer is applied: the values to bind. Where the fast path
    would leave the transfer to the engine, the call raises, the statement is rolled back, and
    ``not_applied`` says so. None when the transfer is not for the fast path at all. Either way
    the long way (``create_linked`` in a transaction) judges it. Once the statement has applied
    it, ``made_in_statement`` counts it."""
    if not _plain(request):
        return None
    return sql.transfer_one_values(request, now=now, expires_at=_expires_at(request, now))


def not_applied(error: DBAPIError) -> bool:
    """The caller's statement (``transfer_in_statement``) raised because the transfer is for
    the engine to judge: it wrote nothing."""
    return sqlstate(error) == sql.NOT_APPLIED_SQLSTATE


def made_in_statement(connection: Connection, request: TransferRequest) -> None:
    """Counts a transfer that a statement of the caller's applied (``transfer_in_statement``),
    once the work it is in has committed."""
    metrics.count_transfers(connection, [request.kind.value])


def _write(connection: Connection, state: BatchState, before: dict[int, Account]) -> None:
    deltas = []
    for account_id, balances in state.balances.items():
        old = before[account_id]
        change = (balances.debits_posted - old.debits_posted, balances.credits_posted - old.credits_posted,
                  balances.debits_pending - old.debits_pending, balances.credits_pending - old.credits_pending)
        if any(change):
            deltas.append({"account_id": account_id, "d_debits_posted": change[0], "d_credits_posted": change[1],
                           "d_debits_pending": change[2], "d_credits_pending": change[3]})
    try:
        sql.write_batch(connection, state.created.values(), deltas)
    except IntegrityError as error:
        _raise_retry_if_unique_violation(error)
        raise  # a CHECK on the balances: the engine let through what the database refuses


def _raise_retry_if_unique_violation(error: IntegrityError) -> None:
    """Only a concurrent batch inserting the same id (or resolving the same hold) breaks a
    unique constraint: the whole transaction runs again, and will see that batch's work."""
    code = sqlstate(error) or getattr(error.orig, "sqlite_errorname", None)
    if code in ("23505", "SQLITE_CONSTRAINT_UNIQUE"):  # psycopg, sqlite3
        raise RetryTransaction("a concurrent batch wrote the same transfer id") from error


def create_transfer(connection: Connection, request: TransferRequest, *, now: datetime) -> Transfer:
    """One transfer; raises the matching ``AppError`` when the ledger refuses it."""
    return create_linked(connection, [request], now=now)[0]


def create_linked(connection: Connection, requests: Sequence[TransferRequest], *,
                  now: datetime) -> list[Transfer]:
    """Transfers applied all or nothing; raises the first refusal's ``AppError``.

    The accounts stay locked until the caller's transaction ends, and some are shared by many
    callers (a popular seller's wallet, a platform's fee account, a connector's clearing
    account): call this last, just before the commit, so that every other transaction touching
    them waits only for the call and the commit. Whatever the transaction writes before it is
    rolled back with it when the ledger refuses (issue #10: the hot account)."""
    chain = [replace(r, linked=i < len(requests) - 1) for i, r in enumerate(requests)]
    outcomes = create_transfers(connection, chain, now=now)
    failed = next(
        (o for o in outcomes if o.result not in (R.OK, R.EXISTS, R.LINKED_EVENT_FAILED)), None
    )
    if failed is not None:
        raise transfer_refused(failed.result)
    assert all(o.transfer is not None for o in outcomes)
    return [o.transfer for o in outcomes]  # type: ignore[misc]


def expire_due(connection: Connection, *, now: datetime, limit: int = limits.EXPIRE_BATCH_MAX) -> int:
    """Expires holds whose timeout has passed, returning their money; the number expired."""
    due = sql.select_due_pendings(connection, now, limit)
    if not due:
        return 0
    requests = [
        TransferRequest(new_id("xfr"), TransferKind.EXPIRE_PENDING, "expire", pending_id=p.id)
        for p in due
    ]
    outcomes = create_transfers(connection, requests, now=now)
    return sum(1 for o in outcomes if o.result.succeeded)
