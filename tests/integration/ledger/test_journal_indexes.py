"""The journal's indexes (migration 0015): only those something reads, and the expiry job's
covering holds alone yet still used by its query, on both databases."""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import command

from amanah.core import migrate
from amanah.core.db import create_engine
from amanah.ledger import sql

READ_INDEXES = {
    "ix_ledger_transfers_debit_account_id_created_at_seq",
    "ix_ledger_transfers_credit_account_id_created_at_seq",
    "ix_ledger_transfers_expires_at",
    "ix_ledger_transfers_reference",
}
DROPPED = {"ix_ledger_transfers_debit_account_id_seq", "ix_ledger_transfers_credit_account_id_seq"}


def index_definitions(connection) -> dict[str, str]:
    """Every index on the journal (unique constraints' included), by name: its SQL."""
    if connection.dialect.name == "postgresql":
        rows = connection.execute(sa.text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'ledger_transfers'"))
    else:
        rows = connection.execute(sa.text(
            "SELECT name, coalesce(sql, '') FROM sqlite_master WHERE type = 'index' AND tbl_name = 'ledger_transfers'"))
    return dict(rows.all())


def test_the_journal_keeps_the_indexes_it_reads_and_the_expiry_index_covers_holds_only(engine):
    with engine.connect() as connection:
        indexes = index_definitions(connection)
    assert READ_INDEXES <= set(indexes)
    assert not DROPPED & set(indexes)
    assert "WHERE" in indexes["ix_ledger_transfers_expires_at"].upper()
    named = {name for name in indexes if name.startswith("ix_")}
    assert named == READ_INDEXES, "an index nothing reads costs every transfer a write"


def test_the_expiry_job_reads_holds_through_the_partial_index(engine):
    """``expires_at <= now`` implies ``expires_at IS NOT NULL``: both planners may use it."""
    query = sql.due_pendings_query(datetime(2030, 1, 1, tzinfo=timezone.utc), 10)
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("SET LOCAL enable_seqscan = off")  # a small table: make it choose
            compiled = query.compile(connection, compile_kwargs={"literal_binds": True})
            plan = "\n".join(connection.exec_driver_sql(f"EXPLAIN {compiled}").scalars())
        else:
            compiled = query.compile(connection, compile_kwargs={"literal_binds": True})
            plan = "\n".join(row[-1] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}"))
        connection.rollback()
    assert "ix_ledger_transfers_expires_at" in plan, plan


def test_the_migration_goes_down_and_up_again(fresh_database_url):
    engine = create_engine(fresh_database_url)
    try:
        config = migrate._config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0014_ledger_transfer_one")
        with engine.connect() as connection:
            before = index_definitions(connection)
        assert DROPPED <= set(before)
        assert "WHERE" not in before["ix_ledger_transfers_expires_at"].upper()
        migrate.upgrade(engine)
        with engine.connect() as connection:
            after = index_definitions(connection)
        assert not DROPPED & set(after)
        assert "WHERE" in after["ix_ledger_transfers_expires_at"].upper()
    finally:
        engine.dispose()
