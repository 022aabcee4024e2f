"""A resolution's ``pending_id`` is unique by a partial index: transfers that resolve no hold are
not in it.

Revision ID: 0019_partial_pending_id_index
Revises: 0018_trade_job_indexes
Create Date: 2026-12-06

``uq_ledger_transfers_pending_id`` (migration 0001), a unique constraint, held an entry for every
transfer, a NULL for each one that resolves no hold: most of the journal (direct transfers,
holds). It is now a unique index on the transfers that resolve one (``pending_id IS NOT NULL``,
the kinds ``post_pending``, ``void_pending``, ``expire_pending``), so that a hold is still posted,
voided or expired at most once, as before (NULLs never conflicted). A direct transfer or a hold
writes one index entry fewer: 5.6% less WAL per transfer, measured with pgbench calling
``ledger_transfer_one`` (1,197-1,201 bytes before, 1,130-1,134 after; ``benchmarks/README.md``,
session 13). The look-ups by ``pending_id`` (a batch's resolutions, the expiry job, a history
line's resolution, ``ledger verify``) compare it with a value, which PostgreSQL proves not NULL:
they use the index as before.

PostgreSQL only: SQLite cannot drop a table's constraint without rebuilding the table (and its
triggers that refuse UPDATE and DELETE), and its journal keeps the constraint. Building the
index reads the journal once: on a large one, migrate in a quiet moment.
"""

import sqlalchemy as sa
from alembic import op

revision = "0019_partial_pending_id_index"
down_revision = "0018_trade_job_indexes"
branch_labels = None
depends_on = None

NAME = "uq_ledger_transfers_pending_id"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(NAME, "ledger_transfers", type_="unique")
        op.create_index(NAME, "ledger_transfers", ["pending_id"], unique=True,
                        postgresql_where=sa.text("pending_id IS NOT NULL"))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index(NAME, table_name="ledger_transfers")
        op.create_unique_constraint(NAME, "ledger_transfers", ["pending_id"])
