"""Brings the schema up to date with Alembic; the migrations live in ``amanah/migrations``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine


MIGRATION_LOCK_ID = 0x616D616E6168  # "amanah": the advisory lock migrations take on PostgreSQL


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", "amanah:migrations")
    return config


def upgrade(engine: Engine) -> None:
    """Applies every migration not yet applied (all branches: each domain may have its own)."""
    config = _config()
    with engine.connect() as connection, _foreign_keys_checked_at_the_end(connection):
        with connection.begin():
            if connection.dialect.name == "postgresql":
                # Several processes starting together must not migrate at once: the first does,
                # the others wait here and then find nothing left to do. (SQLite's BEGIN IMMEDIATE
                # already serialises them.)
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_ID})")
            config.attributes["connection"] = connection
            command.upgrade(config, "heads")
            _check_foreign_keys(connection)


@contextmanager
def _foreign_keys_checked_at_the_end(connection: Connection) -> Iterator[None]:
    """SQLite changes a table's columns by copying it to a new table and dropping the old one
    (Alembic's batch mode); with foreign keys on, that drop's implicit DELETE fails as soon as
    another table has a row naming the old one (a seller naming its platform). SQLite's own
    recipe: foreign keys off around the migration (the pragma works only outside a transaction),
    then ``PRAGMA foreign_key_check`` before the commit. PostgreSQL alters in place: no change."""
    if connection.dialect.name != "sqlite":
        yield
        return
    raw = connection.connection.dbapi_connection
    raw.execute("PRAGMA foreign_keys=OFF")  # on the driver: SQLAlchemy would BEGIN first
    try:
        yield
    finally:
        raw.execute("PRAGMA foreign_keys=ON")


def _check_foreign_keys(connection: Connection) -> None:
    if connection.dialect.name != "sqlite":
        return
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        raise RuntimeError(f"A migration left rows naming missing rows (table, rowid, parent): {broken[:5]}")


def pending_revisions(engine: Engine) -> set[str]:
    """Heads the database has not reached yet (empty when up to date)."""
    heads = set(ScriptDirectory.from_config(_config()).get_heads())
    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    return heads - current
