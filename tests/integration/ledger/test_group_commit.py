"""Group commit: concurrent callers share one transaction and one commit, and each still gets
exactly its own answer, only after that commit."""

from __future__ import annotations

import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from amanah import ledger
from amanah.core.db import GroupCommitter, RetryTransaction, run_in_transaction
from amanah.ledger import AccountKind, TransferRequest as T, TransferResult as R
from amanah.ledger.group_commit import TransferBatcher

from .conftest import new_id

THREADS = 12
WAIT_S = 10.0
"""Long enough that a test's batch is closed by its size (every thread queued), not by time."""


def funded_wallets(books, count: int, amount: int) -> tuple[ledger.Account, list[ledger.Account]]:
    clearing = books.open(AccountKind.CARD_CLEARING)
    wallets = [books.open(AccountKind.USER_WALLET) for _ in range(count)]
    books.submit(*[T.direct(new_id(), debit=clearing.id, credit=w.id, amount=amount, code="topup") for w in wallets])
    return clearing, wallets


def in_threads(function, arguments: list) -> list:
    """Runs ``function`` on each argument, each in a thread of its own, all at once."""
    with ThreadPoolExecutor(len(arguments)) as pool:
        futures = [pool.submit(function, argument) for argument in arguments]
        return [future.result() if future.exception() is None else future.exception() for future in futures]


def assert_books_balance(engine) -> None:
    with engine.connect() as connection:
        report = ledger.verify(connection)
    assert report.ok, report.violations


class TestTransferBatcher:
    def test_many_threads_each_get_their_own_outcomes_from_one_commit(self, engine, books):
        _clearing, wallets = funded_wallets(books, THREADS, amount=100)
        fees = books.open(AccountKind.PLATFORM_FEES)
        batcher = TransferBatcher(engine, units_max=THREADS, wait_s=WAIT_S, flushers_max=1, wait_when_alone=True)

        def pay(index: int):
            # Odd threads ask for more than their wallet holds: they fail, alone.
            amount = 500 if index % 2 else 30
            request = T.direct(new_id(f"pay{index}"), debit=wallets[index].id, credit=fees.id, amount=amount, code="fee")
            return request, batcher.submit([request], now=books.now)

        answers = in_threads(pay, list(range(THREADS)))

        assert batcher.committer.batches == 1
        for index, (request, outcomes) in enumerate(answers):
            assert len(outcomes) == 1
            if index % 2:
                assert outcomes[0].result is R.EXCEEDS_CREDITS and outcomes[0].transfer is None
            else:
                assert outcomes[0].result is R.OK and outcomes[0].transfer.id == request.id
        assert books.account(fees.id).credits_posted == 30 * (THREADS // 2)
        assert_books_balance(engine)

    def test_a_failing_linked_chain_fails_only_its_own_caller(self, engine, books):
        _clearing, (payer, other) = funded_wallets(books, 2, amount=100)
        payee = books.open(AccountKind.USER_WALLET)
        batcher = TransferBatcher(engine, units_max=3, wait_s=WAIT_S, flushers_max=1, wait_when_alone=True)
        chains = [
            [T.direct(new_id(), debit=payer.id, credit=payee.id, amount=60, code="pay", linked=True),
             T.direct(new_id(), debit=payer.id, credit=payee.id, amount=60, code="pay")],  # 120 > 100
            [T.direct(new_id(), debit=other.id, credit=payee.id, amount=60, code="pay", linked=True),
             T.direct(new_id(), debit=other.id, credit=payee.id, amount=40, code="pay")],
            [T.direct(new_id(), debit=other.id, credit=payee.id, amount=1, code="pay", linked=True)],  # left open
        ]

        answers = in_threads(lambda chain: batcher.submit(chain, now=books.now), chains)

        results = [[o.result for o in outcomes] for outcomes in answers]
        assert results[0] == [R.LINKED_EVENT_FAILED, R.EXCEEDS_CREDITS]
        assert results[1] == [R.OK, R.OK]
        assert results[2] == [R.LINKED_EVENT_CHAIN_OPEN]
        assert books.account(payee.id).credits_posted == 100
        assert books.account(payer.id).debits_posted == 0
        assert_books_balance(engine)

    def test_the_hot_account_ends_exact_under_many_batches(self, engine, books):
        _clearing, wallets = funded_wallets(books, 8, amount=10_000)
        fees = books.open(AccountKind.PLATFORM_FEES)
        batcher = TransferBatcher(engine)
        rounds = 25

        def client(index: int) -> int:
            ok = 0
            for _ in range(rounds):
                outcome, = batcher.submit(
                    [T.direct(new_id(), debit=wallets[index].id, credit=fees.id, amount=3, code="fee")], now=books.now)
                ok += outcome.result is R.OK
            return ok

        assert in_threads(client, list(range(8))) == [rounds] * 8
        assert books.account(fees.id).credits_posted == 3 * rounds * 8
        assert_books_balance(engine)


class TestUnitsOfWorkInSavepoints:
    def test_many_callers_each_get_their_own_answer_and_share_commits(self, engine, books):
        callers, rounds = 24, 10
        clearing, wallets = funded_wallets(books, callers, amount=1_000)
        fees = books.open(AccountKind.PLATFORM_FEES)

        def caller(index: int) -> list[str]:
            answers = []
            for round_ in range(rounds):
                request = T.direct(f"{new_id('many')}_{index}_{round_}", debit=wallets[index].id,
                                   credit=fees.id, amount=2, code="fee")
                answers.append((request.id, run_in_transaction(
                    engine, lambda c: ledger.create_transfer(c, request, now=books.now).id, group=True)))
            return answers

        for answers in in_threads(caller, list(range(callers))):
            assert all(asked == answered for asked, answered in answers)
        assert books.account(fees.id).credits_posted == 2 * callers * rounds
        assert_books_balance(engine)

    def test_a_failing_unit_is_rolled_back_alone_and_its_caller_alone_gets_the_error(self, engine, books):
        clearing, wallets = funded_wallets(books, THREADS, amount=100)
        committer = GroupCommitter(engine, units_max=THREADS, wait_s=WAIT_S, flushers_max=1, wait_when_alone=True)
        ids = [new_id(f"unit{i}") for i in range(THREADS)]

        def unit(index: int):
            def work(connection):
                transfer = ledger.create_transfer(
                    connection, T.direct(ids[index], debit=wallets[index].id, credit=clearing.id, amount=10, code="out"),
                    now=books.now)
                if index == 3:
                    raise ValueError("this unit breaks after writing")
                return transfer.id
            return committer.submit(work)

        answers = in_threads(unit, list(range(THREADS)))

        assert committer.batches == 1
        assert isinstance(answers[3], ValueError)
        assert [a for i, a in enumerate(answers) if i != 3] == [t for i, t in enumerate(ids) if i != 3]
        assert books.account(wallets[3].id).debits_posted == 0
        assert all(books.account(w.id).debits_posted == 10 for i, w in enumerate(wallets) if i != 3)
        assert_books_balance(engine)

    def test_a_ledger_refusal_in_one_unit_leaves_the_others_committed(self, engine, books):
        clearing, wallets = funded_wallets(books, 4, amount=100)

        def unit(index: int):
            amount = 1_000 if index == 0 else 10
            return run_in_transaction(engine, lambda c: ledger.create_transfer(
                c, T.direct(new_id(), debit=wallets[index].id, credit=clearing.id, amount=amount, code="out"),
                now=books.now).amount, group=True)

        answers = in_threads(unit, list(range(4)))

        assert isinstance(answers[0], Exception) and getattr(answers[0], "code", "") == "insufficient_funds"
        assert answers[1:] == [10, 10, 10]
        assert_books_balance(engine)

    def test_nothing_is_visible_or_acknowledged_before_the_commit(self, engine, books, database_url):
        clearing, wallets = funded_wallets(books, 2, amount=100)
        committer = GroupCommitter(engine, units_max=2, wait_s=WAIT_S, flushers_max=1, wait_when_alone=True)
        ids = [new_id("seen"), new_id("seen")]
        ran, both_ran, release = [], threading.Event(), threading.Event()
        answered: list[str] = []

        def unit(index: int):
            def work(connection):
                ledger.create_transfer(connection, T.direct(ids[index], debit=wallets[index].id,
                                                            credit=clearing.id, amount=5, code="out"), now=books.now)
                ran.append(index)
                if len(ran) == 2:  # the batch's last unit holds the transaction open
                    both_ran.set()
                    assert release.wait(WAIT_S)
                return ids[index]
            answered.append(committer.submit(work))

        threads = [threading.Thread(target=unit, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        assert both_ran.wait(WAIT_S)
        visible = committed_transfer_ids(database_url, ids)
        acknowledged = list(answered)
        release.set()
        for thread in threads:
            thread.join()

        assert visible == set() and acknowledged == []
        assert sorted(answered) == sorted(ids) and committed_transfer_ids(database_url, ids) == set(ids)

    def test_a_retryable_error_runs_the_whole_batch_again(self, engine, books):
        clearing, wallets = funded_wallets(books, 3, amount=100)
        committer = GroupCommitter(engine, units_max=3, wait_s=WAIT_S, flushers_max=1, wait_when_alone=True)
        calls = [0, 0, 0]
        ids = [new_id("retry") for _ in range(3)]

        def unit(index: int):
            def work(connection):
                calls[index] += 1
                outcome, = ledger.create_transfers(connection, [T.direct(
                    ids[index], debit=wallets[index].id, credit=clearing.id, amount=7, code="out")], now=books.now)
                if index == 1 and calls[index] == 1:
                    raise RetryTransaction("as if a concurrent transaction got in the way")
                return outcome.result
            return committer.submit(work)

        answers = in_threads(unit, list(range(3)))

        assert committer.batches == 1
        # The failing unit ran twice; so did every unit queued before it (the order in which
        # threads queue is theirs); none more than twice.
        assert calls[1] == 2 and set(calls) <= {1, 2}
        # The first attempt was rolled back whole: the second applies each transfer, once.
        assert answers == [R.OK, R.OK, R.OK]
        assert all(books.account(w.id).debits_posted == 7 for w in wallets)
        assert_books_balance(engine)


def committed_transfer_ids(database_url: str, ids: list[str]) -> set[str]:
    """What another connection sees as committed (not through the app's engine, whose SQLite
    transactions begin IMMEDIATE and would wait for the writer)."""
    url = make_url(database_url)
    query = f"SELECT id FROM ledger_transfers WHERE id IN ({', '.join(repr(i) for i in ids)})"
    if url.get_backend_name() == "sqlite":
        connection = sqlite3.connect(url.database, timeout=1)
        try:
            return {row[0] for row in connection.execute(query)}
        finally:
            connection.close()
    observer = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with observer.connect() as connection:
            return {row[0] for row in connection.execute(sa.text(query))}
    finally:
        observer.dispose()


class TestCollecting:
    def test_a_leader_waits_only_until_as_many_units_are_queued_as_the_last_batch_held(self, engine):
        batches: list[list[str]] = []
        first_running, release_first = threading.Event(), threading.Event()

        def runner(_connection, payloads):
            batches.append(list(payloads))
            if payloads == ["a"]:
                first_running.set()
                assert release_first.wait(WAIT_S)
            return list(payloads)

        committer = GroupCommitter(engine, runner, units_max=10, wait_s=3600, flushers_max=1)

        def submitting(payload: str) -> threading.Thread:
            thread = threading.Thread(target=committer.submit, args=(payload,), daemon=True)
            thread.start()
            return thread

        first = [submitting("a")]
        assert first_running.wait(WAIT_S)
        second = [submitting("b"), submitting("c")]  # queued while "a" runs: the next batch, taken at once
        for _ in range(int(WAIT_S * 1000)):
            if len(committer._queue) == 2:
                break
            threading.Event().wait(0.001)
        release_first.set()
        for thread in first + second:
            thread.join(WAIT_S)
        third = [submitting("d"), submitting("e")]  # the last batch held two: its leader waits for two
        for thread in third:
            thread.join(WAIT_S)  # waiting for units_max (10) would keep "d" and "e" an hour

        assert not any(thread.is_alive() for thread in first + second + third)
        assert batches == [["a"], ["b", "c"], ["d", "e"]]
