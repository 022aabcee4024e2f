"""Many real connections at once on PostgreSQL: no balance goes negative, nothing is applied
twice (not even one transfer id sent by two connections at the same instant), and the books
balance."""

from __future__ import annotations

import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from amanah import ledger
from amanah.core.db import run_in_transaction
from amanah.ledger import AccountKind, TransferRequest as T

from .conftest import new_id

pytestmark = pytest.mark.postgres_only

CONNECTIONS = 8
OPERATIONS_PER_CONNECTION = 120
DUPLICATE_ROUNDS = 25


@pytest.fixture
def hot_books(books):
    clearing = books.open(AccountKind.CARD_CLEARING)
    escrow = books.open(AccountKind.ESCROW)
    wallets = [books.open(AccountKind.USER_WALLET) for _ in range(4)]
    books.submit(*[T.direct(new_id(), debit=clearing.id, credit=w.id, amount=10_000, code="topup") for w in wallets])
    return clearing, escrow, wallets


@pytest.fixture
def duplicate_books(books):
    """Accounts only the duplicate senders use, so their results are exactly predictable."""
    clearing = books.open(AccountKind.CARD_CLEARING)
    payer, payee, other_payee = (books.open(AccountKind.USER_WALLET) for _ in range(3))
    books.submit(T.direct(new_id(), debit=clearing.id, credit=payer.id, amount=10_000, code="topup"))
    return payer, payee, other_payee


def test_parallel_connections_keep_the_books_exact(engine, books, hot_books, duplicate_books):
    clearing, escrow, wallets = hot_books
    applied: list[ledger.Transfer] = []
    applied_lock = threading.Lock()
    barrier = threading.Barrier(2)
    clearing_for_dups = books.open(AccountKind.CARD_CLEARING)
    duplicate_ids = [new_id("dup") for _ in range(DUPLICATE_ROUNDS)]

    def submit(request: T) -> ledger.TransferOutcome:
        outcome, = run_in_transaction(engine, lambda c: ledger.create_transfers(c, [request], now=books.now))
        if outcome.result is ledger.TransferResult.OK:
            with applied_lock:
                applied.append(outcome.transfer)
        return outcome

    def random_work(seed: int) -> None:
        rng = random.Random(seed)
        my_holds: list[str] = []
        for _ in range(OPERATIONS_PER_CONNECTION):
            choice = rng.random()
            payer, payee = rng.sample(wallets, 2)
            if choice < 0.4:
                submit(T.direct(new_id(), debit=payer.id, credit=payee.id, amount=rng.randint(1, 3000), code="pay"))
            elif choice < 0.7:
                hold = new_id("hold")
                if submit(T.pending(hold, debit=payer.id, credit=escrow.id, amount=rng.randint(1, 3000), code="hold")).result.succeeded:
                    my_holds.append(hold)
            elif my_holds:
                hold = my_holds.pop(rng.randrange(len(my_holds)))
                if choice < 0.85:
                    submit(T.post(new_id(), pending_id=hold, amount=None, code="release"))
                else:
                    submit(T.void(new_id(), pending_id=hold, code="cancel"))

    def duplicate_sender(side: int) -> list[str]:
        # Even rounds: both send the very same transfer. Odd rounds: the same id for two
        # different transfers (other accounts, so no lock orders them: the unique index does).
        payer, payee, other_payee = duplicate_books
        results = []
        for round_number, transfer_id in enumerate(duplicate_ids):
            to = other_payee if side == 1 and round_number % 2 else payee
            request = T.direct(transfer_id, debit=payer.id if to is payee else clearing_for_dups.id,
                               credit=to.id, amount=1, code="dup")
            barrier.wait()
            results.append(submit(request).result.value)
        return results

    with ThreadPoolExecutor(max_workers=CONNECTIONS) as pool:
        workers = [pool.submit(random_work, seed) for seed in range(CONNECTIONS - 2)]
        duplicates = [pool.submit(duplicate_sender, side) for side in range(2)]
        for future in workers:
            future.result()
        side_a, side_b = (future.result() for future in duplicates)

    # One connection applied each duplicated id; the other saw it exists, or that the id was
    # taken by a different transfer.
    for round_number, (a, b) in enumerate(zip(side_a, side_b)):
        expected_pair = ["id_already_exists", "ok"] if round_number % 2 else ["exists", "ok"]
        assert sorted([a, b]) == expected_pair, (round_number, a, b)
    assert Counter(t.id for t in applied).most_common(1)[0][1] == 1, "a transfer was applied twice"

    expected = {account.id: [0, 0, 0, 0] for account in [clearing, escrow, *wallets]}
    applied = [t for t in applied if t.debit_account_id in expected]
    for account in wallets:
        expected[account.id][1] += 10_000
    expected[clearing.id][0] += 40_000
    holds = {t.id: t for t in applied if t.kind is ledger.TransferKind.PENDING}
    for transfer in applied:
        if transfer.kind is ledger.TransferKind.DIRECT:
            expected[transfer.debit_account_id][0] += transfer.amount
            expected[transfer.credit_account_id][1] += transfer.amount
        elif transfer.kind is ledger.TransferKind.PENDING:
            expected[transfer.debit_account_id][2] += transfer.amount
            expected[transfer.credit_account_id][3] += transfer.amount
        else:
            hold = holds[transfer.pending_id]
            expected[hold.debit_account_id][2] -= hold.amount
            expected[hold.credit_account_id][3] -= hold.amount
            if transfer.kind is ledger.TransferKind.POST_PENDING:
                expected[hold.debit_account_id][0] += transfer.amount
                expected[hold.credit_account_id][1] += transfer.amount
    for account_id, balances in expected.items():
        account = books.account(account_id)
        assert [account.debits_posted, account.credits_posted, account.debits_pending, account.credits_pending] == balances
        if account.debits_must_not_exceed_credits:
            assert account.available >= 0
    report = run_in_transaction(engine, ledger.verify)
    assert report.ok, report.violations
    usd = report.currencies["USD"]
    assert usd["debits"] == usd["credits"] and usd["debits_pending"] == usd["credits_pending"]
