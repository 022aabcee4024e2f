"""PostgreSQL's fast path for a batch of one (``ledger_transfer_one``, migrations 0014, 0016) against the
engine: for any single transfer and any state of its accounts, both give the same outcome, the
same stored transfer and the same balances. Each case runs twice on the same rows, each time in
a transaction that is rolled back: once as the service runs it, once with the fast path off."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings, strategies as st

from amanah import ledger
from amanah.core.db import RetryTransaction, run_in_transaction
from amanah.ledger import TransferKind, TransferRequest as T, sql
from amanah.ledger.models import accounts, transfers

pytestmark = pytest.mark.postgres_only

# (currency, debits_must_not_exceed_credits, credits_must_not_exceed_debits)
ACCOUNT_SHAPES = [("USD", True, False), ("USD", False, False), ("USD", False, True), ("EUR", True, False)]
balances = st.integers(0, 500)


@st.composite
def cases(draw):
    shapes = [draw(st.sampled_from(ACCOUNT_SHAPES)) for _ in range(2)]
    books = []
    for currency, no_overdraft, no_overcredit in shapes:
        debits_posted, debits_pending, credits_pending = draw(balances), draw(balances), draw(balances)
        credits_posted = debits_posted + debits_pending + draw(balances) if no_overdraft else draw(balances)
        if no_overcredit:
            debits_posted = credits_posted + credits_pending + draw(balances)
        books.append({"currency": currency, "debits_must_not_exceed_credits": no_overdraft,
                      "credits_must_not_exceed_debits": no_overcredit, "debits_posted": debits_posted,
                      "credits_posted": credits_posted, "debits_pending": debits_pending,
                      "credits_pending": credits_pending})
    kind = draw(st.sampled_from([TransferKind.DIRECT, TransferKind.PENDING]))
    # Mostly plain transfers (the fast path applies them), and every way of not being plain.
    debit, credit = draw(st.sampled_from([(0, 1)] * 6 + [(1, 0), (0, 0), (0, "missing"), ("missing", 1)]))
    request = {
        "kind": kind, "debit": debit, "credit": credit,  # an index into books, or no such account
        "amount": draw(st.one_of(st.integers(1, 50), st.integers(1, 700), st.sampled_from([0, -1, 10**30]))),
        "timeout_s": draw(st.sampled_from([None, None, 60, 0])) if kind is TransferKind.PENDING else None,
        "code": draw(st.sampled_from(["pay"] * 4 + ["Not Valid"])),
        "reference": draw(st.sampled_from([None, "order-1", "order-1", ""])),
        "existing": draw(st.sampled_from([None] * 6 + ["same", "other"])),
    }
    return books, request


def _setup(connection, books, request, now) -> T:
    owner = f"case_{secrets.token_hex(6)}"
    ids = []
    for number, book in enumerate(books):
        ids.append(connection.execute(accounts.insert().values(
            kind="user_wallet", owner_ref=f"{owner}_{number}", created_at=now, **book).returning(accounts.c.id)).scalar_one())
    account = {0: ids[0], 1: ids[1], "missing": max(ids) + 10_000}
    transfer_id = f"t_{secrets.token_hex(8)}"
    fields = dict(debit=account[request["debit"]], credit=account[request["credit"]], amount=request["amount"],
                  code=request["code"], reference=request["reference"])
    if request["kind"] is TransferKind.PENDING:
        new = T.pending(transfer_id, timeout_s=request["timeout_s"], **fields)
    else:
        new = T.direct(transfer_id, **fields)
    if request["existing"]:  # the id was used before: with the same fields, or other ones
        plain = (new.debit_account_id in ids and new.credit_account_id in ids and new.debit_account_id != new.credit_account_id
                 and books[0]["currency"] == books[1]["currency"] and 0 < new.amount < 10**12)
        if request["existing"] == "same" and plain:
            debit, credit, currency, amount = new.debit_account_id, new.credit_account_id, books[0]["currency"], new.amount
        else:  # between two accounts of their own
            debit, credit = (connection.execute(accounts.insert().values(
                kind="card_clearing", owner_ref=f"{owner}_other_{n}", currency="USD", created_at=now,
                debits_must_not_exceed_credits=False, credits_must_not_exceed_debits=False, debits_posted=1,
                credits_posted=1).returning(accounts.c.id)).scalar_one() for n in range(2))
            currency, amount = "USD", 1
        connection.execute(transfers.insert().values(
            id=transfer_id, kind=new.kind.value, debit_account_id=debit, credit_account_id=credit, currency=currency,
            amount=amount, code=new.code if request["existing"] == "same" else "pay", reference=new.reference,
            timeout_s=new.timeout_s or None, expires_at=now + timedelta(seconds=new.timeout_s) if new.timeout_s else None,
            created_at=now - timedelta(minutes=1)))
    return new


def _run(engine, books, request, now, *, fast: bool, monkeypatch) -> tuple:
    """Outcome, transfer, both accounts' balances and the stored row, with account ids left out
    (each run makes its own rows); the transaction is rolled back."""
    with monkeypatch.context() as patch:
        if not fast:
            patch.setattr(sql, "transfer_one", lambda *args, **kwargs: None)
        with engine.connect() as connection:
            transaction = connection.begin()
            try:
                new = _setup(connection, books, request, now)
                try:
                    outcome = ledger.create_transfers(connection, [new], now=now)[0]
                except (sa.exc.IntegrityError, RetryTransaction) as error:
                    return ("error", type(error).__name__)
                balances = connection.execute(
                    sa.select(accounts.c.debits_posted, accounts.c.credits_posted, accounts.c.debits_pending,
                              accounts.c.credits_pending)
                    .where(accounts.c.id.in_([new.debit_account_id, new.credit_account_id])).order_by(accounts.c.id)).all()
                stored = connection.execute(
                    sa.select(transfers.c.kind, transfers.c.currency, transfers.c.amount, transfers.c.timeout_s,
                              transfers.c.expires_at, transfers.c.code, transfers.c.reference, transfers.c.created_at)
                    .where(transfers.c.id == new.id)).all()
                return (outcome.result, _without_id(outcome.transfer, new.id), [tuple(row) for row in balances],
                        [tuple(row) for row in stored])
            finally:
                transaction.rollback()


def _without_id(transfer, transfer_id):
    if transfer is None:
        return None
    assert transfer.id == transfer_id
    return (transfer.kind, transfer.amount, transfer.currency, transfer.pending_id, transfer.timeout_s,
            transfer.expires_at, transfer.code, transfer.reference, transfer.created_at)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=cases())
def test_the_fast_path_and_the_engine_agree(engine, now, monkeypatch, case):
    books, request = case
    fast = _run(engine, books, request, now, fast=True, monkeypatch=monkeypatch)
    slow = _run(engine, books, request, now, fast=False, monkeypatch=monkeypatch)
    assert fast == slow, (request, fast, slow)


def test_the_fast_path_is_one_round_trip_and_is_taken(engine, now, monkeypatch):
    from tests.round_trips import RoundTrips

    calls = []
    original = sql.transfer_one
    monkeypatch.setattr(sql, "transfer_one", lambda *a, **k: calls.append(1) or original(*a, **k))
    with engine.begin() as connection:
        wallet, other = ledger.open_accounts(connection, [
            (ledger.AccountKind.CARD_CLEARING, "fast", "USD"), (ledger.AccountKind.USER_WALLET, "fast", "USD")], now=now)
    with RoundTrips(engine) as trips, engine.begin() as connection:
        [outcome] = ledger.create_transfers(connection, [T.direct("fast_1", debit=wallet.id, credit=other.id,
                                                                  amount=5, code="pay")], now=now)
    assert outcome.result.value == "ok" and calls == [1]
    assert len(trips.labels()) == 3, trips.labels()  # BEGIN, the call, COMMIT


class TestDriverErrors:
    """The fast path calls the driver itself (``sql.transfer_one``); its errors must reach the
    unit of work as SQLAlchemy's, which is what ``run_in_transaction`` judges them by."""

    @pytest.fixture
    def pair(self, engine, now):
        with engine.begin() as connection:
            return ledger.open_accounts(connection, [(ledger.AccountKind.CARD_CLEARING, f"drv_{secrets.token_hex(4)}", "USD"),
                                                     (ledger.AccountKind.USER_WALLET, f"drv_{secrets.token_hex(4)}", "USD")],
                                        now=now)

    def test_a_lost_connection_runs_the_transfer_again_on_a_new_one_and_applies_it_once(self, engine, now, pair):
        clearing, wallet = pair
        request = T.direct(f"lost_{secrets.token_hex(4)}", debit=clearing.id, credit=wallet.id, amount=7, code="pay")
        calls, pids = [], []
        original = sql.transfer_one

        def terminated_first(connection, *args, **kwargs):
            calls.append(1)
            if len(calls) == 1:  # the server process serving this connection goes away before the call
                pids.append(connection.connection.driver_connection.info.backend_pid)
                with engine.connect() as other:
                    other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pids[0]})
            return original(connection, *args, **kwargs)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(sql, "transfer_one", terminated_first)
            [outcome] = run_in_transaction(engine, lambda c: ledger.create_transfers(c, [request], now=now))

        assert outcome.result.value == "ok" and len(calls) == 2
        with engine.connect() as connection:
            assert connection.connection.driver_connection.info.backend_pid != pids[0]
            assert ledger.get_account(connection, wallet.id).credits_posted == 7
            assert connection.execute(sa.select(sa.func.count()).where(transfers.c.id == request.id)).scalar() == 1

    def test_a_statement_error_is_sqlalchemys_and_leaves_the_connection_usable(self, engine, now, pair):
        clearing, wallet = pair
        request = T.direct(f"late_{secrets.token_hex(4)}", debit=clearing.id, credit=wallet.id, amount=3, code="pay")
        with engine.connect() as connection:
            pid = connection.connection.driver_connection.info.backend_pid
            with engine.connect() as holder, holder.begin():
                holder.execute(sa.select(accounts.c.id).where(accounts.c.id == wallet.id).with_for_update())
                with connection.begin():
                    connection.execute(sa.text("SET LOCAL lock_timeout = '50ms'"))
                    with pytest.raises(sa.exc.OperationalError) as raised:
                        ledger.create_transfers(connection, [request], now=now)
            assert raised.value.orig.sqlstate == "55P03" and not raised.value.connection_invalidated  # lock_not_available
            assert "ledger_transfer_one" in raised.value.statement
            with connection.begin():  # rolled back, and still the same live connection
                [outcome] = ledger.create_transfers(connection, [request], now=now)
            assert connection.connection.driver_connection.info.backend_pid == pid
        assert outcome.result.value == "ok"
