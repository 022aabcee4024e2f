"""The database: one engine per process, SQLite or PostgreSQL, and the unit of work.

The edge (a request, a CLI command, a job) owns the transaction: it calls
``run_in_transaction(engine, work)``, which runs ``work(connection)`` in one transaction and
retries it, whole, when the database says a concurrent transaction got in the way
(serialisation failure, deadlock, a unique id inserted at the same moment). Services take the
connection and never commit. A thread keeps the connection of its transactions checked out
between them (``_KeptConnections``). ``run_autocommit(engine, work)`` runs work that needs no
transaction (a look-up in one statement, a write whole in one statement) without BEGIN and
COMMIT: one round trip per statement, with the same retries.

Group commit (``run_in_transaction(engine, work, group=True)``): concurrent callers' units of
work are collected for a moment (bounded by ``GROUP_COMMIT_UNITS_MAX`` and
``GROUP_COMMIT_WAIT_S``) and run in one transaction, each inside its own SAVEPOINT, so one
failing unit is rolled back alone and its caller alone gets its exception. One commit (one
fsync) answers them all, and nobody is answered before it: a crash before the commit loses
only unacknowledged work. A retryable error in any unit, or at the commit, rolls the whole
batch back and runs every unit again (units are re-runnable, as always). There is no
background thread: the first waiting caller leads a batch (``GroupCommitter``).

SQLite is the embedded default: WAL journal, ``synchronous=FULL`` (a committed payment survives
a power cut), foreign keys on, and every transaction begins ``IMMEDIATE`` so that writers queue
on the database lock at ``BEGIN`` instead of deadlocking when a reader wants to write.
"""

from __future__ import annotations

import logging
import random
import sqlite3
import threading
import time
import weakref
from collections import deque, namedtuple
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.engine.url import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import DeclarativeBase

from amanah.core import limits
from amanah.core.clock import utc
from amanah.core.errors import CommitOutcomeUnknown, DatabaseUnavailable, ServiceUnavailable

T = TypeVar("T")

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)



class Base(DeclarativeBase):
    """ORM models (everything but the ledger's hot path) share the one metadata."""

    metadata = metadata


# An integer primary key that autoincrements on both databases (SQLite only does so for
# INTEGER PRIMARY KEY, its rowid).
BigIntegerPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class UTCDateTime(sa.TypeDecorator):
    """Aware UTC datetimes in and out; ``timestamptz`` on PostgreSQL, text on SQLite."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        assert value.tzinfo is not None, "naive datetimes are not allowed"
        value = utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else utc(value)


class RetryTransaction(Exception):
    """Raised inside a transaction when a concurrent one got in the way; the whole
    transaction is rolled back and run again by ``run_in_transaction``."""


def is_sqlite(bind: Connection | Engine) -> bool:
    return bind.dialect.name == "sqlite"


class OnDriver:
    """A statement compiled once and run straight on PostgreSQL's driver (psycopg), in the
    connection's transaction (or autocommit): for a hot path's statement whose execution by
    SQLAlchemy (processing every bound value, a result object with its column map) costs more
    client CPU than its round trip (issue #10). The values go to the driver as they are, so
    they must need none of SQLAlchemy's type processing (str, int, aware UTC datetimes, None),
    and rows come back as the driver's tuples. A driver error is handed to SQLAlchemy's own
    handling of one: callers see what ``connection.execute`` raises (``IntegrityError``,
    ``OperationalError``, ...), and a lost connection is invalidated as it would be there."""

    def __init__(self, statement: sa.Executable) -> None:
        self.statement = statement
        self._compiled: tuple[str, dict] | None = None
        self._named: tuple[type, list[tuple[int, Callable]]] | None = None

    def execute(self, connection: Connection, values: dict) -> list[tuple]:
        if self._compiled is None:  # (two threads may both compile it: the same result)
            compiled = self.statement.compile(dialect=connection.dialect)
            constants = {name: bind.effective_value for bind, name in compiled.bind_names.items() if not bind.required}
            self._compiled = (compiled.string, constants)
        sql, constants = self._compiled
        parameters = {**constants, **values}
        try:
            return connection.connection.driver_connection.execute(sql, parameters).fetchall()
        except BaseException as error:  # as SQLAlchemy's own execution catches them
            connection._handle_dbapi_exception(error, sql, parameters, None, None)

    def rows(self, connection: Connection, values: dict) -> list[tuple]:
        """A SELECT's rows as ``execute`` gives them, named as SQLAlchemy's are (``row.id``)
        and each value read through its column's type as SQLAlchemy reads it (``UTCDateTime``:
        aware UTC). Without SQLAlchemy's result object: for a wide row (a trade's 36 columns)
        psycopg's column descriptions alone, which that object asks for, cost more CPU than
        the rest of the read (py-spy, issue #10)."""
        if self._named is None:
            columns = self.statement.selected_columns
            processors = [(index, processor) for index, column in enumerate(columns)
                          if (processor := column.type.result_processor(connection.dialect, None)) is not None]
            self._named = (namedtuple("Row", [column.key for column in columns]), processors)
        row_type, processors = self._named
        named = []
        for row in self.execute(connection, values):
            if processors:
                row = list(row)
                for index, processor in processors:
                    row[index] = processor(row[index])
            named.append(row_type._make(row))
        return named

    def first(self, connection: Connection, values: dict) -> tuple | None:
        """``rows``' first row, or None."""
        return next(iter(self.rows(connection, values)), None)


def insert_on_conflict(connection: Connection, table: sa.Table):
    """The dialect's ``INSERT`` for ``table``, which has ``on_conflict_do_nothing`` (race-free
    get-or-create: insert, let a concurrent twin's row win, then read)."""
    from sqlalchemy.dialects import postgresql, sqlite

    return (postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert)(table)


def postgresql_url(url: str) -> str:
    """libpq's own URIs as SQLAlchemy reads them: ``postgres://`` and ``postgresql://`` use
    psycopg 3, and several hosts (``u@h1:5432,h2:5432/db``, as ``pg_autoctl show uri`` prints
    them) become ``u@/db?host=h1:5432&host=h2:5432``. Any other URL is returned as it is."""
    scheme, separator, rest = url.partition("://")
    if not separator or scheme not in ("postgres", "postgresql", "postgresql+psycopg"):
        return url
    cut = min((index for index in (rest.find("/"), rest.find("?")) if index >= 0), default=len(rest))
    netloc, tail = rest[:cut], rest[cut:]
    userinfo, at, hosts = netloc.rpartition("@")
    if "," in hosts:
        path, _question, query = tail.partition("?")
        hosts_query = "&".join(f"host={host}" for host in hosts.split(","))
        netloc, tail = f"{userinfo}{at}", f"{path or '/'}?{hosts_query}" + (f"&{query}" if query else "")
    return f"postgresql+psycopg://{netloc}{tail}"


def create_engine(url: str, *, echo: bool = False) -> Engine:
    parsed = make_url(postgresql_url(url))
    if parsed.get_backend_name() == "sqlite":
        return _create_sqlite_engine(parsed, echo=echo)
    # Defaults for libpq; the URL's own query (``?connect_timeout=2``) wins. Several hosts may
    # be named (``?host=a:5432&host=b:5432&target_session_attrs=read-write``): each new
    # connection then goes to whichever is the writable primary now.
    defaults = {"connect_timeout": limits.DB_CONNECT_TIMEOUT_S, "keepalives": 1,
                "keepalives_idle": limits.DB_KEEPALIVE_IDLE_S,
                "keepalives_interval": limits.DB_KEEPALIVE_INTERVAL_S,
                "keepalives_count": limits.DB_KEEPALIVE_COUNT}
    return sa.create_engine(
        parsed,
        echo=echo,
        pool_size=limits.DB_POOL_SIZE,
        max_overflow=limits.DB_POOL_OVERFLOW_MAX,
        # No ping at every check-out (a round trip per transaction: one in six of a transfer's):
        # a pooled connection to a server that has gone (restarted, failed over) fails its
        # first statement, which invalidates the pool, and the work runs again on a new
        # connection (``_run_alone``: nothing can have committed before COMMIT was sent).
        pool_pre_ping=False,
        connect_args={name: value for name, value in defaults.items() if name not in parsed.query},
    )


def _create_sqlite_engine(url, *, echo: bool) -> Engine:
    assert url.database and url.database != ":memory:", "use a file: the server has many connections"
    Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, echo=echo, connect_args={"timeout": limits.SQLITE_BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Let SQLAlchemy, not the sqlite3 module, say when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={limits.SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if connection.get_execution_options().get(_SQLITE_AUTOCOMMIT):
            return  # ``run_autocommit``: no BEGIN, each statement is a transaction of its own
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


_SQLITE_AUTOCOMMIT = "amanah_sqlite_autocommit"
"""Execution option (SQLite) of ``run_autocommit``'s connections: the engine sends no BEGIN."""

_RETRYABLE_SQLSTATES = {"40001", "40P01"}  # serialization_failure, deadlock_detected
_READ_ONLY_SQLSTATE = "25006"  # read_only_sql_transaction: this server is a standby now
_OUTCOME_UNKNOWN_SQLSTATE = "40003"  # statement_completion_unknown (CockroachDB: "result is ambiguous")
_SERVER_GONE_SQLSTATES = {"57P01", "57P02", "57P03", _READ_ONLY_SQLSTATE}
"""admin_shutdown, crash_shutdown, cannot_connect_now (starting up or promoting), and a write
refused by a standby; with class 08 (connection exception) they mean "not this server, not now"."""


def _is_retryable(error: BaseException) -> bool:
    if isinstance(error, RetryTransaction):
        return True
    if isinstance(error, DBAPIError):
        if sqlstate(error) in _RETRYABLE_SQLSTATES:
            return True
        if isinstance(error, OperationalError) and "database is locked" in str(error.orig):
            return True
    return False


def sqlstate(error: DBAPIError) -> str:
    """The SQLSTATE PostgreSQL answered with ("" for SQLite's errors, and for none)."""
    return getattr(error.orig, "sqlstate", None) or ""


def _connection_lost(error: BaseException) -> bool:
    """The statement failed because the server went away or stopped being the primary: the
    transaction cannot have committed, and the same work may succeed on a new connection."""
    if not isinstance(error, DBAPIError):
        return False
    state = sqlstate(error)
    return error.connection_invalidated or state.startswith("08") or state in _SERVER_GONE_SQLSTATES


def is_database_unavailable(error: BaseException) -> bool:
    """The database cannot be reached or cannot serve right now (down, failing over, out of
    connections, shutting down): a 503 to retry, not a bug. SQLite's errors never are."""
    if not isinstance(error, DBAPIError) or isinstance(error.orig, sqlite3.Error):
        return False
    if _connection_lost(error):
        return True
    state = sqlstate(error)
    if not state:  # psycopg reports a failed connection attempt without a SQLSTATE
        return isinstance(error, OperationalError)
    return state[:2] in {"53", "57", "58"}  # insufficient resources, operator intervention, system


def run_in_transaction(engine: Engine, work: Callable[[Connection], T], *, group: bool = False) -> T:
    """Runs ``work`` in one transaction, committing on return and rolling back on error.

    ``work`` must be safe to run again from the start: it is retried, with jittered
    exponential back-off, when the database reports a conflict with a concurrent transaction.
    When the database goes away (a failover, a restart) before the work could commit, it is
    run again on a new connection for up to ``DB_RECONNECT_WAIT_S``, then ``DatabaseUnavailable``
    (503). A connection lost *during* COMMIT is ambiguous (it may have committed): the work is
    not run again and ``CommitOutcomeUnknown`` (503) is raised.
    With ``group=True`` it shares a transaction (and its commit) with concurrent callers' work,
    in a savepoint of its own; it is answered, as alone, only after that commit.
    """
    if group:
        return group_committer(engine).submit(work)
    return _run_alone(engine, work)


_AFTER_COMMIT = "amanah.after_commit"


def after_commit(connection: Connection, callback: Callable[[], None]) -> None:
    """Runs ``callback`` once the transaction that ``run_in_transaction`` owns on ``connection``
    has committed; never if it rolls back or is run again (a retry starts a fresh list), nor if
    the unit's savepoint is rolled back in a group commit. In ``run_autocommit`` work, once the
    work has returned (each of its statements committed on its own), never if it raised. For
    side effects that must only follow committed work (metrics); it must not fail. Outside
    those two (a transaction begun by hand) nothing runs."""
    callbacks = connection.info.get(_AFTER_COMMIT)
    if callbacks is not None:
        callbacks.append(callback)


_PHASE = "amanah.phase"


def commit_point(connection: Connection) -> None:
    """In ``run_autocommit`` work, before a statement that writes and commits whole (several
    rows, all or nothing): if the connection is lost from here on, the write may have been
    made, so the work is not run again and ``CommitOutcomeUnknown`` (503) is raised, as for a
    connection lost during ``run_in_transaction``'s COMMIT."""
    phase = connection.info.get(_PHASE)
    if phase is not None:
        phase[0] = _COMMITTING


def _fire(callbacks: list[Callable[[], None]]) -> None:
    for callback in callbacks:
        try:
            callback()
        except Exception:  # the work is committed: a failing callback must not report it failed
            logging.getLogger("amanah.db").exception("after-commit callback failed")


_CONNECTING, _WORKING, _COMMITTING = "connecting", "working", "committing"


def run_autocommit(engine: Engine, work: Callable[[Connection], T]) -> T:
    """Runs ``work`` on a connection in autocommit mode: each statement commits on its own, with
    no BEGIN, COMMIT or ROLLBACK around it, so one statement is one round trip (three in
    ``run_in_transaction``). For a read that needs no snapshot shared by several statements
    (whose token is this?), and for writes that are whole in one statement (``INSERT … ON
    CONFLICT DO NOTHING``, an UPDATE that compares and sets). Statements of one ``work`` are not
    all-or-nothing and may each see a different moment of the database.

    Errors are handled as by ``run_in_transaction`` (the same code): a conflict runs ``work``
    again; a database that went away runs it again on a new connection, then ``DatabaseUnavailable``
    (503). A write whose connection is lost may have committed, so ``work`` must be safe to run
    again after any of its statements took effect, unless it called ``commit_point`` before
    that write: then a lost connection raises ``CommitOutcomeUnknown``, as a lost COMMIT does.

    PostgreSQL: the DBAPI connection's own autocommit, on the thread's kept connection (switched
    on for the work and off after it), or, for a thread without one, on a connection checked out
    for the work (SQLAlchemy's ``AUTOCOMMIT`` isolation level, undone when the connection goes
    back to the pool). SQLite: the engine's ``BEGIN IMMEDIATE`` is left out and the sqlite3
    module, told never to begin transactions itself (``_create_sqlite_engine``), runs each
    statement as its own transaction: a read takes no lock that writers wait for (WAL), a write
    waits for the write lock as BEGIN IMMEDIATE would. SQLAlchemy's ``AUTOCOMMIT`` is not used
    there: undoing it at check-in would hand transactions back to the sqlite3 module.
    """
    return _run_alone(engine, work, attempt=_run_autocommit_once)


def _run_autocommit_once(engine: Engine, work: Callable[[Connection], T], phase: list[str]) -> T:
    callbacks: list[Callable[[], None]] = []
    kept = None if is_sqlite(engine) else _kept_connection(engine)
    if kept is not None:
        value = _run_autocommit_kept(kept, work, phase, callbacks)
    else:
        with engine.connect() as connection:
            if is_sqlite(engine):
                connection.execution_options(**{_SQLITE_AUTOCOMMIT: True})
            else:
                connection.execution_options(isolation_level="AUTOCOMMIT")
            value = _work_on(connection, work, phase, callbacks, autocommit=True)
    _fire(callbacks)
    return value


def _run_autocommit_kept(kept: "_Kept", work: Callable[[Connection], T], phase: list[str],
                         callbacks: list[Callable[[], None]]) -> T:
    """PostgreSQL, on the thread's kept connection: the driver's autocommit is switched on for
    the work and off again, both on the client (psycopg sends nothing while no transaction is
    open, and its COMMIT at the end of ``begin()`` is none in autocommit). A connection checked
    out for the work instead costs a check-out, SQLAlchemy's switch and the pool's reset: a
    bearer token's look-up took 0.25 ms of CPU that way, a bare ``SELECT 1`` 0.2 (issue #10)."""
    with kept as connection:
        driver = connection.connection.driver_connection
        driver.autocommit = True
        try:
            with connection.begin():  # SQLAlchemy's own state; nothing is sent for it
                return _work_on(connection, work, phase, callbacks, autocommit=True)
        finally:
            if not connection.invalidated:
                driver.autocommit = False


def _work_on(connection: Connection, work: Callable[[Connection], T], phase: list[str],
             callbacks: list[Callable[[], None]], *, autocommit: bool = False) -> T:
    """``work(connection)`` with ``after_commit``'s list and, in autocommit, ``commit_point``'s
    phase in the connection's info (it lives as long as the pooled DBAPI connection: both are
    removed before the connection goes back to the pool). A demoted primary's connection is
    invalidated, so that the next attempt finds the new one."""
    phase[0] = _WORKING
    connection.info[_AFTER_COMMIT] = callbacks
    if autocommit:
        connection.info[_PHASE] = phase
    try:
        return work(connection)
    except DBAPIError as error:
        if sqlstate(error) == _READ_ONLY_SQLSTATE:
            connection.invalidate()
        raise
    finally:
        if not connection.invalidated:  # (an invalidated connection's info cannot be reached)
            connection.info.pop(_AFTER_COMMIT, None)
            connection.info.pop(_PHASE, None)


def _run_alone(engine: Engine, work: Callable[[Connection], T], *,
               attempt: Callable[[Engine, Callable[[Connection], T], list[str]], T] | None = None) -> T:
    attempt = attempt or _run_once
    backoff_s = limits.TRANSACTION_RETRY_BACKOFF_S
    conflicts = 0
    reconnect_deadline: float | None = None
    while True:
        phase = [_CONNECTING]
        try:
            return attempt(engine, work, phase)
        except Exception as error:
            if _is_retryable(error):
                if conflicts == limits.TRANSACTION_RETRIES_MAX:
                    raise ServiceUnavailable(
                        "The service is too busy to complete this request right now; nothing was "
                        "changed. Please retry.",
                        code="contention",
                    ) from error
                conflicts += 1
                time.sleep(backoff_s * (1 + random.random()))
                backoff_s *= 2
                continue
            if (phase[0] == _COMMITTING and _connection_lost(error)) or (
                    isinstance(error, DBAPIError) and sqlstate(error) == _OUTCOME_UNKNOWN_SQLSTATE):
                raise CommitOutcomeUnknown(
                    "The connection to the database was lost while this request was being committed, so "
                    "it may or may not have taken effect. Retry with the same Idempotency-Key: the "
                    "answer will say which.",
                ) from error
            away = is_database_unavailable(error) if phase[0] == _CONNECTING else _connection_lost(error)
            if not away:
                raise
            now = time.monotonic()
            reconnect_deadline = reconnect_deadline or now + limits.DB_RECONNECT_WAIT_S
            if now >= reconnect_deadline:
                raise DatabaseUnavailable(
                    "The database is unavailable right now (it may be failing over to its standby); "
                    "nothing was changed. Please retry in a moment.",
                ) from error
            time.sleep(limits.DB_RECONNECT_PAUSE_S)


def _run_once(engine: Engine, work: Callable[[Connection], T], phase: list[str]) -> T:
    """One attempt; ``phase[0]`` says how far it got (nothing sent, work sent, COMMIT sent)."""
    callbacks: list[Callable[[], None]] = []
    kept = _kept_connection(engine)
    with (kept if kept is not None else engine.connect()) as connection, connection.begin():
        value = _work_on(connection, work, phase, callbacks)
        phase[0] = _COMMITTING
    _fire(callbacks)
    return value


class _Kept:
    """One thread's connection to one engine, checked out of the pool once and kept between the
    thread's transactions (and its autocommit work, on PostgreSQL); back to the pool when the
    thread ends (this object goes with the thread's local data) or when it was invalidated (the
    server went away); closed at ``dispose()``."""

    __slots__ = ("engine", "connection", "busy", "disposed", "__weakref__")

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.connection: Connection | None = None
        self.busy = False
        self.disposed = False
        """Set by ``dispose()`` while a transaction was using it: closed when given back."""

    def __enter__(self) -> Connection:
        """``with kept as connection``: taken for the block (``busy``), given back after it."""
        self.busy = True
        if self.connection is None:
            try:
                self.connection = self.engine.connect()
            except BaseException:
                self.busy = False
                raise
        return self.connection

    def __exit__(self, *_exc) -> None:
        self.busy = False
        if self.disposed:
            self.release(close=True)
        elif self.connection is not None and self.connection.invalidated:
            self.release()  # the next transaction checks out a new one

    def release(self, *, close: bool = False) -> None:
        """Back to the pool; with ``close``, the DBAPI connection is closed instead (a disposed
        engine's old pool would keep what comes back to it)."""
        self.disposed = False
        connection, self.connection = self.connection, None
        if connection is not None:
            if close and not connection.invalidated:
                connection.detach()
            connection.close()

    def __del__(self) -> None:  # the thread ended, or the engine was dropped without dispose()
        try:
            self.release()
        except Exception:  # (at interpreter exit the pool may be gone already)
            pass


class _KeptConnections:
    """Per engine: each thread's ``_Kept`` connection, for at most as many threads as the pool
    keeps connections open anyway (``pool_size``); a thread beyond them checks a connection out
    for each transaction. Checking out and in, and the SQLAlchemy ``Connection`` around it, cost
    a single transfer a tenth of its client CPU, and with eight clients on two cores client CPU
    is the wall (issue #10, ``benchmarks/ledger_throughput.py``)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._limit = engine.pool.size() if isinstance(engine.pool, sa.pool.QueuePool) else 0
        self._local = threading.local()
        self._all: "weakref.WeakSet[_Kept]" = weakref.WeakSet()  # weak: one goes when its thread ends
        event.listen(engine, "engine_disposed", self._close_all)

    def mine(self) -> _Kept | None:
        """This thread's, when it has a free one or may start one."""
        kept = getattr(self._local, "kept", None)
        if kept is None:
            with _kept_lock:
                if len(self._all) >= self._limit:
                    return None
                kept = self._local.kept = _Kept(self._engine)
                self._all.add(kept)
        return None if kept.busy else kept  # busy: a transaction begun inside another one

    def _close_all(self, _engine: Engine) -> None:
        for kept in list(self._all):
            if kept.busy:  # a transaction still running (dispose() is for shutdown): closed after it
                kept.disposed = True
            else:
                kept.release(close=True)


_KEPT = "_amanah_kept_connections"
_kept_lock = threading.Lock()


def _kept_connection(engine: Engine) -> _Kept | None:
    """This thread's kept connection to ``engine``, or None (it uses the pool as usual). Kept
    on the engine itself, so that an engine dropped without ``dispose()`` takes them along."""
    kept_connections = engine.__dict__.get(_KEPT)
    if kept_connections is None:
        with _kept_lock:
            kept_connections = engine.__dict__.get(_KEPT)
            if kept_connections is None:
                kept_connections = engine.__dict__[_KEPT] = _KeptConnections(engine)
    return kept_connections.mine()


class _Unit:
    """One caller's payload, and its answer once the batch holding it has committed."""

    __slots__ = ("payload", "done", "lead", "value", "error", "wake")

    def __init__(self, payload) -> None:
        self.payload = payload
        self.done = False
        self.lead = False
        """Set when a finishing leader hands this unit's caller the lead."""
        self.value = None
        self.error: BaseException | None = None
        self.wake = threading.Event()


BatchRunner = Callable[[Connection, Sequence], list]
"""Runs a batch's payloads in the given transaction; returns, per payload, its value or the
exception its caller should get. Raising aborts (and, if retryable, retries) the whole batch."""


class _Failed:
    """A unit's exception, kept apart from values that happen to be exceptions."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


def run_units_in_savepoints(connection: Connection, works: Sequence[Callable[[Connection], T]]) -> list:
    results: list = []
    callbacks = connection.info.get(_AFTER_COMMIT, [])
    for work in works:
        registered = len(callbacks)
        try:
            with connection.begin_nested():
                results.append(work(connection))
        except Exception as error:
            if _is_retryable(error) or _connection_lost(error):
                raise  # the whole batch is rolled back and run again
            del callbacks[registered:]  # the unit's work was rolled back: so are its callbacks
            results.append(_Failed(error))
    return results


class GroupCommitter:
    """Collects payloads from concurrent threads and runs them in one transaction per batch.

    Leader/follower, no thread of its own: a caller queues its unit and, if fewer than
    ``flushers_max`` batches are in flight, leads one: it collects up to ``units_max`` units
    for at most ``wait_s`` (only while callers arrive together, unless ``wait_when_alone``),
    and no longer once as many are queued as the last batch held (``_enough``); runs them
    through ``runner`` in one transaction with retries, answers each unit after the commit
    and leads again until its own unit is answered; a leader whose unit is answered hands the
    lead to the oldest waiting caller. Every other caller sleeps on its own event
    (no herd of wake-ups) until its unit is answered or it is handed the lead.

    One batch in flight by default: two batches of a busy system lock the same rows (the fee
    account, popular wallets), so the second mostly waits for the first, and each holds half
    as many units. The ledger's batcher at 64 clients, four runs each (as
    ``benchmarks/group_commit.py`` measures it): 1,980-2,530 transfers/s in batches of 30-31
    with two in flight, 2,820-3,400/s in batches of 54-58 with one."""

    def __init__(self, engine: Engine, runner: BatchRunner = run_units_in_savepoints, *,
                 units_max: int = limits.GROUP_COMMIT_UNITS_MAX, wait_s: float = limits.GROUP_COMMIT_WAIT_S,
                 flushers_max: int = 1, wait_when_alone: bool = False,
                 weight: Callable[[object], int] = lambda _payload: 1, weight_max: int | None = None) -> None:
        assert units_max > 0 and wait_s >= 0
        self._engine = engine
        self._runner = runner
        self._units_max = units_max
        self._wait_s = wait_s
        self._flushers_max = 1 if is_sqlite(engine) else flushers_max
        self._wait_when_alone = wait_when_alone
        self._weight = weight
        self._weight_max = weight_max
        self._lock = threading.Lock()
        self._full = threading.Condition(self._lock)
        """Leaders collecting a batch wait on it; a caller filling the queue wakes them."""
        self._queue: deque[_Unit] = deque()
        self._leading = threading.local()
        self._flushing = 0
        self._last_batch_units = 0
        self.batches = 0
        """Batches committed so far (for tests and benchmarks)."""

    def submit(self, payload):
        # A unit submitting to its own committer would wait for the batch it is part of.
        assert not getattr(self._leading, "active", False), "group commit is not re-entrant"
        unit = _Unit(payload)
        with self._lock:
            self._queue.append(unit)
            if self._flushing < self._flushers_max:
                self._flushing += 1
                unit.lead = True
            elif len(self._queue) >= self._enough():
                self._full.notify()
        while True:
            if unit.lead:  # even if already answered: the place must be passed on
                self._lead(unit)
            if unit.done:
                break
            unit.wake.wait()
            unit.wake.clear()  # the flags, set before the event, are read after this
        if unit.error is not None:
            raise unit.error
        return unit.value

    def _lead(self, own: _Unit) -> None:
        """Runs batches (holding one of the ``flushing`` places) until ``own`` is answered."""
        try:
            while not own.done:
                with self._lock:
                    batch = self._collect()
                if not batch:
                    return  # its unit is in another leader's batch: wait for it as a follower
                self._run(batch)
        finally:
            with self._lock:
                own.lead = False
                successor = next((u for u in self._queue if not u.lead), None)
                if successor is None:
                    self._flushing -= 1
                else:  # the place passes on: the oldest waiting caller leads next
                    successor.lead = True
                    successor.wake.set()

    def _enough(self) -> int:
        """Queued units a leader stops waiting at: as many as the last batch held (its callers,
        back with their next units: waiting longer mostly waits for nobody; at eight callers
        the full ``wait_s`` was two fifths of the ledger's batch cycle), or ``units_max`` when
        told to wait even alone. Called holding the lock."""
        return self._units_max if self._wait_when_alone else min(self._units_max, self._last_batch_units)

    def _collect(self) -> list[_Unit]:
        """Called holding the lock."""
        if self._wait_when_alone or self._last_batch_units > 1:
            deadline = time.monotonic() + self._wait_s
            while len(self._queue) < self._enough():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._full.wait(remaining)
        batch: list[_Unit] = []
        total = 0
        while self._queue and len(batch) < self._units_max:
            weight = self._weight(self._queue[0].payload)
            if batch and self._weight_max is not None and total + weight > self._weight_max:
                break
            total += weight
            batch.append(self._queue.popleft())
        return batch

    def _run(self, batch: list[_Unit]) -> None:
        try:
            results = self._run_with_retries([unit.payload for unit in batch])
            assert len(results) == len(batch)
            for unit, result in zip(batch, results):
                if isinstance(result, _Failed):
                    unit.error = result.error
                else:
                    unit.value = result
        except BaseException as error:  # the batch failed as a whole: so does every unit
            for unit in batch:
                unit.error = error
            if not isinstance(error, Exception):
                raise
        finally:
            with self._lock:
                self._last_batch_units = len(batch)
                self.batches += 1
                for unit in batch:
                    unit.done = True
                    unit.wake.set()

    def _run_with_retries(self, payloads: list) -> list:
        self._leading.active = True
        try:
            return _run_alone(self._engine, lambda connection: self._runner(connection, payloads))
        finally:
            self._leading.active = False


_committers: "weakref.WeakKeyDictionary[Engine, GroupCommitter]" = weakref.WeakKeyDictionary()
_committers_lock = threading.Lock()


def group_committer(engine: Engine) -> GroupCommitter:
    """The engine's shared committer of units of work (savepoint per unit)."""
    with _committers_lock:
        committer = _committers.get(engine)
        if committer is None:
            # One batch at a time: units lock rows in their own orders, so two batches of
            # them in flight would deadlock each other (and PostgreSQL takes deadlock_timeout,
            # a second, to notice). One batch runs while its callers' next units queue.
            committer = _committers[engine] = GroupCommitter(engine)
        return committer
