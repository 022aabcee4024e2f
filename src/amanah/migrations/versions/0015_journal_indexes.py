"""The journal keeps only the indexes something reads: fewer entries written per transfer.

Revision ID: 0015_journal_indexes
Revises: 0014_ledger_transfer_one
Create Date: 2026-12-01

Every transfer was written into nine indexes. Two were redundant: ``(debit_account_id, seq)``
and ``(credit_account_id, seq)`` (migration 0001) serve nothing that 0010's
``(…_account_id, created_at, seq)`` does not (history pages, reconciliation's per-account
ranges); they are dropped. The expiry job's index on ``expires_at`` held an entry for every
transfer, though only holds have an expiry: it now covers those rows alone (a query's
``expires_at <= now`` implies ``expires_at IS NOT NULL``, so both databases still use it).
A direct transfer now writes six index entries instead of nine: on PostgreSQL about a quarter
less WAL per transfer (1,380 → 1,000 bytes, measured with pgbench calling
``ledger_transfer_one``), and three fewer indexes to keep in memory as the journal grows.

Building the new index reads the whole journal once, and new transfers wait for it (the
migration runs in one transaction under the migration lock): on a large journal, run it in a
quiet moment.
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_journal_indexes"
down_revision = "0014_ledger_transfer_one"
branch_labels = None
depends_on = None

ACCOUNT_SEQ_INDEXES = {
    "ix_ledger_transfers_debit_account_id_seq": ["debit_account_id", "seq"],
    "ix_ledger_transfers_credit_account_id_seq": ["credit_account_id", "seq"],
}
EXPIRY_INDEX = "ix_ledger_transfers_expires_at"
HOLDS_ONLY = sa.text("expires_at IS NOT NULL")


def upgrade() -> None:
    for name in ACCOUNT_SEQ_INDEXES:
        op.drop_index(name, table_name="ledger_transfers")
    op.drop_index(EXPIRY_INDEX, table_name="ledger_transfers")
    op.create_index(EXPIRY_INDEX, "ledger_transfers", ["expires_at"],
                    postgresql_where=HOLDS_ONLY, sqlite_where=HOLDS_ONLY)


def downgrade() -> None:
    op.drop_index(EXPIRY_INDEX, table_name="ledger_transfers")
    op.create_index(EXPIRY_INDEX, "ledger_transfers", ["expires_at"])
    for name, columns in ACCOUNT_SEQ_INDEXES.items():
        op.create_index(name, "ledger_transfers", columns)
