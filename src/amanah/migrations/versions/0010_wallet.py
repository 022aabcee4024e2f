"""Wallet: top-ups, withdrawals, and the payment history's indexes on the ledger's journal.

Revision ID: 0010_wallet
Revises: 0008_trades, 0009_service_mode
Create Date: 2026-11-28

History pages read ``ledger_transfers`` newest first for the few wallet accounts of one user,
optionally within a date range. ``(debit_account_id, created_at, seq)`` and
``(credit_account_id, created_at, seq)`` make each (account, side) an ordered index range:
a page — the first, one a million lines deep, or one inside a date range — reads about
``limit`` index entries per branch and never sorts (see ``wallet/service/history.py`` and
``benchmarks/history_page.py``).
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_wallet"
down_revision = ("0008_trades", "0009_service_mode")
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)
HISTORY_INDEXES = {
    "ix_ledger_transfers_debit_account_id_created_at_seq": ["debit_account_id", "created_at", "seq"],
    "ix_ledger_transfers_credit_account_id_created_at_seq": ["credit_account_id", "created_at", "seq"],
}


def upgrade() -> None:
    op.create_table(
        "topups",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("source_label", sa.String(64), nullable=False),
        sa.Column("charge_amount", sa.BigInteger, nullable=False),
        sa.Column("charge_currency", sa.String(3), nullable=False),
        sa.Column("quote_id", sa.String(32), nullable=True),
        sa.Column("charge_id", sa.String(32), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("failure_code", sa.String(32), nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_topups"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_topups_user_id_users"),
        sa.ForeignKeyConstraint(["charge_id"], ["charges.id"], name="fk_topups_charge_id_charges"),
        sa.CheckConstraint("amount > 0 AND charge_amount > 0", name="ck_topups_amounts_positive"),
        sa.CheckConstraint("status IN ('processing', 'requires_action', 'succeeded', 'failed')",
                           name="ck_topups_status_known"),
    )
    op.create_index("ix_topups_user_id_id", "topups", ["user_id", "id"])
    op.create_table(
        "withdrawals",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("card_id", sa.String(32), nullable=False),
        sa.Column("destination_label", sa.String(64), nullable=False),
        sa.Column("connector", sa.String(32), nullable=False),
        sa.Column("connector_reference", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("failure_code", sa.String(32), nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_withdrawals"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_withdrawals_user_id_users"),
        sa.ForeignKeyConstraint(["card_id"], ["cards.id"], name="fk_withdrawals_card_id_cards"),
        sa.CheckConstraint("amount > 0", name="ck_withdrawals_amount_positive"),
        sa.CheckConstraint("status IN ('processing', 'succeeded', 'failed')", name="ck_withdrawals_status_known"),
    )
    op.create_index("ix_withdrawals_user_id_id", "withdrawals", ["user_id", "id"])
    op.create_index("ix_withdrawals_user_id_currency_created_at", "withdrawals", ["user_id", "currency", "created_at"])
    for name, columns in HISTORY_INDEXES.items():
        op.create_index(name, "ledger_transfers", columns)


def downgrade() -> None:
    for name in HISTORY_INDEXES:
        op.drop_index(name, table_name="ledger_transfers")
    op.drop_table("withdrawals")
    op.drop_table("topups")
