"""``run_in_transaction`` keeps each thread's connection checked out between its transactions
(``core.db._KeptConnections``): for at most the pool's size of threads, given back when the
thread ends, when it was invalidated, and at ``dispose()``."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from amanah.core.db import create_engine, run_autocommit, run_in_transaction


@pytest.fixture
def own_engine(engine, database_url):
    """An engine of this test's own on the session's (migrated) database."""
    own = create_engine(database_url)
    yield own
    own.dispose()


def driver_connection(connection) -> object:
    return connection.connection.driver_connection


def checkouts(engine) -> list:
    seen: list = []
    event.listen(engine, "checkout", lambda dbapi_connection, _record, _proxy: seen.append(dbapi_connection))
    return seen


class TestAThreadsConnection:
    def test_is_checked_out_once_and_used_by_its_next_transactions(self, own_engine):
        seen = checkouts(own_engine)
        used = [run_in_transaction(own_engine, driver_connection) for _ in range(3)]

        assert used[0] is used[1] is used[2] and len(seen) == 1
        assert own_engine.pool.checkedout() == 1  # kept, not given back

    @pytest.mark.postgres_only  # SQLite: the inner transaction would wait for the outer's lock
    def test_a_transaction_begun_inside_another_gets_a_connection_of_its_own(self, own_engine):
        def outer(connection):
            inner = run_in_transaction(own_engine, driver_connection)
            return driver_connection(connection), inner

        outer_connection, inner_connection = run_in_transaction(own_engine, outer)

        assert outer_connection is not inner_connection
        assert run_in_transaction(own_engine, driver_connection) is outer_connection  # the kept one, free again
        assert own_engine.pool.checkedout() == 1  # the inner one went back to the pool

    def test_a_failed_transaction_rolls_back_and_leaves_the_connection_usable(self, own_engine):
        run_in_transaction(own_engine, lambda c: c.execute(sa.text("CREATE TABLE kept_probe (n INTEGER)")))

        def fails(connection):
            connection.execute(sa.text("INSERT INTO kept_probe VALUES (1)"))
            raise ValueError("refused")

        with pytest.raises(ValueError):
            run_in_transaction(own_engine, fails)
        assert run_in_transaction(own_engine, lambda c: c.execute(sa.text("SELECT count(*) FROM kept_probe")).scalar()) == 0
        run_in_transaction(own_engine, lambda c: c.execute(sa.text("DROP TABLE kept_probe")))

    def test_an_invalidated_connection_is_not_kept(self, own_engine):
        first = run_in_transaction(own_engine, driver_connection)

        def invalidates(connection):
            connection.invalidate()
            raise ValueError("the server went away")

        with pytest.raises(ValueError):
            run_in_transaction(own_engine, invalidates)

        assert run_in_transaction(own_engine, driver_connection) is not first

    @pytest.mark.postgres_only  # SQLite's autocommit is an execution option of a connection of its own
    def test_autocommit_work_runs_on_it_and_leaves_it_transactional(self, own_engine):
        seen = checkouts(own_engine)
        kept = run_in_transaction(own_engine, driver_connection)

        assert run_autocommit(own_engine, lambda c: (driver_connection(c), driver_connection(c).autocommit)) == (kept, True)
        assert len(seen) == 1 and not kept.autocommit
        run_in_transaction(own_engine, lambda c: c.execute(sa.text("CREATE TABLE kept_probe (n INTEGER)")))

        def fails(connection):
            connection.execute(sa.text("INSERT INTO kept_probe VALUES (1)"))
            raise ValueError("refused")

        with pytest.raises(ValueError):  # the transaction after it is still all or nothing
            run_in_transaction(own_engine, fails)
        assert run_autocommit(own_engine, lambda c: c.execute(sa.text("SELECT count(*) FROM kept_probe")).scalar()) == 0
        with pytest.raises(ValueError):  # autocommit work that fails leaves it switched back too
            run_autocommit(own_engine, fails)
        assert not kept.autocommit and run_in_transaction(own_engine, driver_connection) is kept
        assert run_autocommit(own_engine, lambda c: c.execute(sa.text("SELECT count(*) FROM kept_probe")).scalar()) == 1
        run_in_transaction(own_engine, lambda c: c.execute(sa.text("DROP TABLE kept_probe")))
        assert len(seen) == 1

    @pytest.mark.postgres_only
    def test_autocommit_work_inside_a_transaction_gets_a_connection_of_its_own(self, own_engine):
        def outer(connection):
            return driver_connection(connection), run_autocommit(own_engine, driver_connection)

        outer_connection, inner_connection = run_in_transaction(own_engine, outer)

        assert outer_connection is not inner_connection and not outer_connection.autocommit
        assert run_in_transaction(own_engine, driver_connection) is outer_connection


class TestThreads:
    def test_at_most_the_pools_size_keep_one_and_each_gives_it_back_when_it_ends(self, own_engine):
        size = own_engine.pool.size()
        threads_count = size + 3
        done, release = threading.Barrier(threads_count + 1), threading.Event()
        errors: list[BaseException] = []

        def client() -> None:
            try:
                run_in_transaction(own_engine, lambda c: c.execute(sa.text("SELECT 1")).scalar())
            except BaseException as error:  # pragma: no cover - reported below
                errors.append(error)
            done.wait()
            release.wait()

        threads = [threading.Thread(target=client) for _ in range(threads_count)]
        for thread in threads:
            thread.start()
        done.wait()
        kept_while_alive = own_engine.pool.checkedout()
        release.set()
        for thread in threads:
            thread.join()

        assert errors == []
        assert kept_while_alive == size  # the others checked one out and gave it back
        assert own_engine.pool.checkedout() == 0

    def test_dispose_closes_every_kept_connection(self, own_engine):
        ready, release = threading.Event(), threading.Event()
        theirs: list = []

        def client() -> None:
            theirs.append(run_in_transaction(own_engine, driver_connection))
            ready.set()
            release.wait()

        thread = threading.Thread(target=client)
        thread.start()
        ready.wait()
        mine = run_in_transaction(own_engine, driver_connection)

        own_engine.dispose()

        assert is_closed(mine) and is_closed(theirs[0])
        release.set()
        thread.join()
        assert run_in_transaction(own_engine, lambda c: c.execute(sa.text("SELECT 1")).scalar()) == 1  # keeps a new one

    def test_dispose_during_a_transaction_closes_its_connection_after_it(self, own_engine):
        def disposes(connection):
            own_engine.dispose()
            return driver_connection(connection), connection.execute(sa.text("SELECT 1")).scalar()

        used, value = run_in_transaction(own_engine, disposes)

        assert value == 1 and is_closed(used)


def is_closed(dbapi_connection) -> bool:
    try:
        dbapi_connection.cursor().execute("SELECT 1")
    except Exception:  # psycopg: OperationalError, sqlite3: ProgrammingError
        return True
    return False
