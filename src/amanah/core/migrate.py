"""Brings the schema up to date with Alembic; the migrations live in ``amanah/migrations``."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine


MIGRATION_LOCK_ID = 0x616D616E6168  # "amanah": the advisory lock migrations take on PostgreSQL


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", "amanah:migrations")
    return config


def upgrade(engine: Engine) -> None:
    """Applies every migration not yet applied (all branches: each domain may have its own)."""
    config = _config()
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Several processes starting together must not migrate at once: the first does,
            # the others wait here and then find nothing left to do. (SQLite's BEGIN IMMEDIATE
            # already serialises them.)
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_ID})")
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")


def pending_revisions(engine: Engine) -> set[str]:
    """Heads the database has not reached yet (empty when up to date)."""
    heads = set(ScriptDirectory.from_config(_config()).get_heads())
    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    return heads - current
