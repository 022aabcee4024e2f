"""``run_autocommit``: work that needs no transaction runs without BEGIN and COMMIT (one round
trip per statement), on both databases, with ``run_in_transaction``'s handling of a database
that goes away, and the pooled connection is an ordinary transactional one again afterwards.
``after_commit`` callbacks run once the work has returned; after ``commit_point`` a lost
connection is an unknown outcome, as a lost COMMIT is."""

from __future__ import annotations

import socket
import threading

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from amanah.core import limits
from amanah.core.db import after_commit, commit_point, create_engine, run_autocommit, run_in_transaction
from amanah.core.errors import CommitOutcomeUnknown, DatabaseUnavailable
from tests.conftest import ON_POSTGRES, _create_postgres_database, _drop_postgres_database


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """An engine on an empty database of this test's own, with one table; one pooled
    connection, so that every unit of work here reuses the same one."""
    monkeypatch.setattr(limits, "SQLITE_BUSY_TIMEOUT_MS", 300)  # a read that waits for the writer fails soon
    monkeypatch.setattr(limits, "DB_POOL_SIZE", 1)
    url = _create_postgres_database() if ON_POSTGRES else f"sqlite:///{tmp_path / 'scratch.db'}"
    engine = create_engine(url)
    with engine.begin() as connection:
        serial = "SERIAL" if ON_POSTGRES else "INTEGER"  # (SQLite numbers an INTEGER PRIMARY KEY itself)
        connection.execute(sa.text(f"CREATE TABLE notes (id {serial} PRIMARY KEY, note TEXT NOT NULL)"))
    try:
        yield engine
    finally:
        engine.dispose()
        if ON_POSTGRES:
            _drop_postgres_database(url)


def _statements(engine) -> list[str]:
    sent: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda _c, _cur, statement, *_a: sent.append(statement))
    return sent


def _notes(connection) -> list[str]:
    return list(connection.execute(sa.text("SELECT note FROM notes ORDER BY id")).scalars())


def _add(connection, note: str) -> None:
    connection.execute(sa.text("INSERT INTO notes (note) VALUES (:note)"), {"note": note})


class TestNoTransactionIsOpened:
    def test_a_look_up_is_its_one_statement(self, scratch):
        sent = _statements(scratch)

        assert run_autocommit(scratch, _notes) == []

        assert sent == ["SELECT note FROM notes ORDER BY id"]  # no BEGIN IMMEDIATE on SQLite

    @pytest.mark.postgres_only
    def test_on_postgresql_a_look_up_is_one_round_trip(self, scratch):
        from tests.round_trips import RoundTrips

        with RoundTrips(scratch) as trips:
            run_autocommit(scratch, _notes)
            run_in_transaction(scratch, _notes)

        labels = trips.labels()
        assert labels[0].startswith("SELECT note") and len(labels) == 4, labels  # then BEGIN, SELECT, COMMIT
        assert labels[1].startswith("BEGIN") and labels[3] == "COMMIT", labels

    def test_each_write_is_committed_at_once(self, scratch):
        seen_meanwhile = []

        def work(connection):
            _add(connection, "first")
            with scratch.connect() as other:  # (a second connection, beyond the pool's one)
                seen_meanwhile.extend(_notes(other))
            _add(connection, "second")
            raise RuntimeError("not all-or-nothing: the first note stays")

        with pytest.raises(RuntimeError):
            run_autocommit(scratch, work)

        assert seen_meanwhile == ["first"]
        assert run_autocommit(scratch, _notes) == ["first", "second"]


class TestTheConnectionIsTransactionalAgainAfterwards:
    def test_the_next_unit_of_work_is_still_all_or_nothing(self, scratch):
        run_autocommit(scratch, _notes)
        sent = _statements(scratch)

        def work(connection):
            _add(connection, "rolled back")
            raise RuntimeError("the unit of work fails")

        with pytest.raises(RuntimeError):
            run_in_transaction(scratch, work)

        assert run_autocommit(scratch, _notes) == []
        if not ON_POSTGRES:
            assert sent[0] == "BEGIN IMMEDIATE", sent

    def test_on_sqlite_the_sqlite3_module_still_leaves_transactions_to_the_engine(self, scratch):
        if ON_POSTGRES:
            pytest.skip("SQLite's own setting")
        run_autocommit(scratch, _notes)
        with scratch.connect() as connection:
            assert connection.connection.dbapi_connection.isolation_level is None


@pytest.mark.skipif(ON_POSTGRES, reason="SQLite's locks")
def test_on_sqlite_a_look_up_does_not_wait_for_a_writer(scratch):
    run_autocommit(scratch, lambda connection: _add(connection, "committed"))
    writing, done = threading.Event(), threading.Event()

    def writer():
        with scratch.connect() as connection:  # holds the write lock (BEGIN IMMEDIATE) until done
            connection.execute(sa.text("INSERT INTO notes (note) VALUES ('not yet')"))
            writing.set()
            done.wait(30)
            connection.rollback()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert writing.wait(10)
        seen = run_autocommit(scratch, _notes)
    finally:
        done.set()
        thread.join()
    assert seen == ["committed"]


@pytest.mark.postgres_only
def test_a_connection_lost_during_the_work_runs_it_again_on_a_new_one(scratch):
    backends = []

    def work(connection):
        backends.append(connection.execute(sa.text("SELECT pg_backend_pid()")).scalar())
        if len(backends) == 1:
            connection.execute(sa.text("SELECT pg_terminate_backend(pg_backend_pid())"))
        return _notes(connection)

    assert run_autocommit(scratch, work) == []
    assert len(backends) == 2 and backends[0] != backends[1]


def test_a_database_that_stays_away_is_database_unavailable(monkeypatch):
    monkeypatch.setattr(limits, "DB_RECONNECT_WAIT_S", 0.6)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens there once the probe is closed
    engine = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{port}/amanah?connect_timeout=1")
    ran = []
    try:
        with pytest.raises(DatabaseUnavailable):
            run_autocommit(engine, ran.append)
    finally:
        engine.dispose()
    assert ran == []


class TestAfterCommit:
    def test_callbacks_run_once_the_work_has_returned(self, scratch):
        ran = []

        def work(connection):
            _add(connection, "counted")
            after_commit(connection, lambda: ran.append(_notes_now(scratch)))
            return "done"

        assert run_autocommit(scratch, work) == "done"
        assert ran == [["counted"]]

    def test_no_callback_runs_when_the_work_raises(self, scratch):
        ran = []

        def work(connection):
            after_commit(connection, lambda: ran.append(1))
            raise RuntimeError("the work fails")

        with pytest.raises(RuntimeError):
            run_autocommit(scratch, work)
        assert ran == []


def _notes_now(engine) -> list[str]:
    with engine.connect() as other:
        return _notes(other)


@pytest.mark.postgres_only
class TestACommitPoint:
    def test_a_connection_lost_after_it_is_commit_outcome_unknown_and_not_run_again(self, scratch):
        attempts = []

        def work(connection):
            attempts.append(1)
            commit_point(connection)
            connection.execute(sa.text("SELECT pg_terminate_backend(pg_backend_pid())"))

        with pytest.raises(CommitOutcomeUnknown):
            run_autocommit(scratch, work)
        assert attempts == [1]

    def test_a_conflict_after_it_still_runs_the_work_again(self, scratch):
        attempts = []

        def work(connection):
            attempts.append(1)
            commit_point(connection)
            if len(attempts) == 1:  # a deadlock's SQLSTATE: the statement was rolled back
                connection.execute(sa.text("DO $$ BEGIN RAISE EXCEPTION 'deadlock' USING ERRCODE = '40P01'; END $$"))
            _add(connection, "written once")

        run_autocommit(scratch, work)
        assert len(attempts) == 2 and _notes_now(scratch) == ["written once"]


@pytest.mark.postgres_only
def test_a_write_refused_by_a_standby_is_run_again_on_a_new_connection(scratch):
    attempts = []

    def work(connection):
        attempts.append(1)
        if len(attempts) == 1:  # as a demoted primary's pooled connection answers (SQLSTATE 25006)
            connection.execute(sa.text("SET default_transaction_read_only = on"))
        _add(connection, "written")

    run_autocommit(scratch, work)
    assert len(attempts) == 2 and _notes_now(scratch) == ["written"]
