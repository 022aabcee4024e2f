"""The jobs' trade indexes hold only the trades the jobs look for.

Revision ID: 0018_trade_job_indexes
Revises: 0017_transfer_one_or_raise
Create Date: 2026-12-05

Expiring unpaid trades reads ``(status, expires_at)`` and releasing shipped ones ``(status,
release_at)`` (migration 0008), and both indexes held an entry for every trade, most of them
completed long ago. Each is now a partial index on its date alone, for the one status its job
asks for (``awaiting_payment``, ``shipped``): a trade is in it only while it is waiting for that
job. A change of status still rewrites the row's index entries (PostgreSQL cannot make it a HOT
update), but paying, confirming or closing a trade no longer adds an entry to an index that its
new status is not in: a payment writes five index entries instead of seven. The jobs' query
names the status as a literal, so that the planner can prove it matches the index's predicate.

Building the indexes reads the trades once: on a large table, migrate in a quiet moment.
"""

import sqlalchemy as sa
from alembic import op

revision = "0018_trade_job_indexes"
down_revision = "0017_transfer_one_or_raise"
branch_labels = None
depends_on = None

INDEXES = {  # new name: (date column, the status its job looks for, the old index)
    "ix_trades_expires_at_awaiting_payment": ("expires_at", "awaiting_payment", "ix_trades_status_expires_at"),
    "ix_trades_release_at_shipped": ("release_at", "shipped", "ix_trades_status_release_at"),
}


def upgrade() -> None:
    for name, (column, status, old) in INDEXES.items():
        op.drop_index(old, table_name="trades")
        waiting = sa.text(f"status = '{status}'")
        op.create_index(name, "trades", [column], postgresql_where=waiting, sqlite_where=waiting)


def downgrade() -> None:
    for name, (column, _status, old) in INDEXES.items():
        op.drop_index(name, table_name="trades")
        op.create_index(old, "trades", ["status", column])
