"""The database: one engine per process, SQLite or PostgreSQL, and the unit of work.

The edge (a request, a CLI command, a job) owns the transaction: it calls
``run_in_transaction(engine, work)``, which runs ``work(connection)`` in one transaction and
retries it, whole, when the database says a concurrent transaction got in the way
(serialisation failure, deadlock, a unique id inserted at the same moment). Services take the
connection and never commit.

SQLite is the embedded default: WAL journal, ``synchronous=FULL`` (a committed payment survives
a power cut), foreign keys on, and every transaction begins ``IMMEDIATE`` so that writers queue
on the database lock at ``BEGIN`` instead of deadlocking when a reader wants to write.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
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
from amanah.core.errors import ServiceUnavailable

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


def create_engine(url: str, *, echo: bool = False) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _create_sqlite_engine(parsed, echo=echo)
    return sa.create_engine(
        parsed,
        echo=echo,
        pool_size=limits.DB_POOL_SIZE,
        max_overflow=limits.DB_POOL_OVERFLOW_MAX,
        pool_pre_ping=True,
        connect_args={"connect_timeout": limits.DB_CONNECT_TIMEOUT_S},
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
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


_RETRYABLE_SQLSTATES = {"40001", "40P01"}  # serialization_failure, deadlock_detected


def _is_retryable(error: BaseException) -> bool:
    if isinstance(error, RetryTransaction):
        return True
    if isinstance(error, DBAPIError):
        sqlstate = getattr(error.orig, "sqlstate", None)
        if sqlstate in _RETRYABLE_SQLSTATES:
            return True
        if isinstance(error, OperationalError) and "database is locked" in str(error.orig):
            return True
    return False


def run_in_transaction(engine: Engine, work: Callable[[Connection], T]) -> T:
    """Runs ``work`` in one transaction, committing on return and rolling back on error.

    ``work`` must be safe to run again from the start: it is retried, with jittered
    exponential back-off, when the database reports a conflict with a concurrent transaction.
    """
    backoff_s = limits.TRANSACTION_RETRY_BACKOFF_S
    for attempt in range(limits.TRANSACTION_RETRIES_MAX + 1):
        try:
            with engine.begin() as connection:
                return work(connection)
        except Exception as error:
            if not _is_retryable(error):
                raise
            if attempt == limits.TRANSACTION_RETRIES_MAX:
                raise ServiceUnavailable(
                    "The service is too busy to complete this request right now; nothing was "
                    "changed. Please retry.",
                    code="contention",
                ) from error
            time.sleep(backoff_s * (1 + random.random()))
            backoff_s *= 2
    raise AssertionError("unreachable")
