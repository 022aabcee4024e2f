"""Trades (escrow), refunds and disputes.

Revision ID: 0008_trades
Revises: 0005_cards, 0006_platforms
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_trades"
down_revision = ("0005_cards", "0006_platforms")
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)
STATUSES = "('awaiting_payment', 'held', 'shipped', 'disputed', 'completed', 'refunded', 'closed')"


def upgrade() -> None:
    op.create_table(
        "trades",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("platform_id", sa.String(32), nullable=False),
        sa.Column("out_trade_no", sa.String(64), nullable=False),
        sa.Column("seller_id", sa.String(32), nullable=False),
        sa.Column("seller_user_id", sa.String(32), nullable=False),
        sa.Column("buyer_user_id", sa.String(32), nullable=False),
        sa.Column("buyer_platform_user_id", sa.String(64), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("subject", sa.String(256), nullable=False),
        sa.Column("protection_days", sa.Integer, nullable=False),
        sa.Column("fee_bps", sa.Integer, nullable=True),
        sa.Column("fee_fixed", sa.BigInteger, nullable=True),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("held_amount", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("refunded_amount", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("fee_amount", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("hold_transfer_id", sa.String(64), nullable=True),
        sa.Column("hold_generation", sa.Integer, nullable=False, server_default="0"),
        sa.Column("payment_status", sa.String(24), nullable=True),
        sa.Column("payment_source", sa.String(40), nullable=True),
        sa.Column("pay_currency", sa.String(3), nullable=True),
        sa.Column("pay_amount", sa.BigInteger, nullable=True),
        sa.Column("charge_id", sa.String(32), nullable=True),
        sa.Column("quote_id", sa.String(32), nullable=True),
        sa.Column("payment_failure_code", sa.String(32), nullable=True),
        sa.Column("carrier", sa.String(64), nullable=True),
        sa.Column("tracking_number", sa.String(64), nullable=True),
        sa.Column("shipped_at", Timestamp, nullable=True),
        sa.Column("release_at", Timestamp, nullable=True),
        sa.Column("expires_at", Timestamp, nullable=False),
        sa.Column("paid_at", Timestamp, nullable=True),
        sa.Column("completed_at", Timestamp, nullable=True),
        sa.Column("closed_at", Timestamp, nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_trades"),
        sa.UniqueConstraint("platform_id", "out_trade_no", name="uq_trades_platform_id_out_trade_no"),
        sa.ForeignKeyConstraint(["platform_id"], ["platforms.id"], name="fk_trades_platform_id_platforms"),
        sa.ForeignKeyConstraint(["seller_id"], ["sellers.id"], name="fk_trades_seller_id_sellers"),
        sa.ForeignKeyConstraint(["seller_user_id"], ["users.id"], name="fk_trades_seller_user_id_users"),
        sa.ForeignKeyConstraint(["buyer_user_id"], ["users.id"], name="fk_trades_buyer_user_id_users"),
        sa.ForeignKeyConstraint(["charge_id"], ["charges.id"], name="fk_trades_charge_id_charges"),
        sa.CheckConstraint(f"status IN {STATUSES}", name="ck_trades_status_known"),
        sa.CheckConstraint("amount > 0", name="ck_trades_amount_positive"),
        sa.CheckConstraint("held_amount >= 0 AND held_amount <= amount", name="ck_trades_held_within_amount"),
        sa.CheckConstraint("refunded_amount >= 0 AND refunded_amount <= amount", name="ck_trades_refunds_within_amount"),
        sa.CheckConstraint("fee_amount >= 0 AND fee_amount <= amount", name="ck_trades_fee_within_amount"),
        sa.CheckConstraint("fee_bps IS NULL OR (fee_bps >= 0 AND fee_bps <= 10000)", name="ck_trades_fee_bps_range"),
        sa.CheckConstraint("protection_days > 0", name="ck_trades_protection_positive"),
    )
    op.create_index("ix_trades_buyer_user_id_id", "trades", ["buyer_user_id", "id"])
    op.create_index("ix_trades_seller_user_id_id", "trades", ["seller_user_id", "id"])
    op.create_index("ix_trades_platform_id_id", "trades", ["platform_id", "id"])
    op.create_index("ix_trades_status_release_at", "trades", ["status", "release_at"])
    op.create_index("ix_trades_status_expires_at", "trades", ["status", "expires_at"])
    op.create_table(
        "refunds",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("trade_id", sa.String(32), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("destination", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("failure_code", sa.String(32), nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_refunds"),
        sa.ForeignKeyConstraint(["trade_id"], ["trades.id"], name="fk_refunds_trade_id_trades"),
        sa.CheckConstraint("amount > 0", name="ck_refunds_amount_positive"),
    )
    op.create_index("ix_refunds_trade_id", "refunds", ["trade_id"])
    op.create_table(
        "disputes",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("trade_id", sa.String(32), nullable=False),
        sa.Column("reason", sa.String(1000), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("buyer_amount", sa.BigInteger, nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("resolved_at", Timestamp, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_disputes"),
        sa.ForeignKeyConstraint(["trade_id"], ["trades.id"], name="fk_disputes_trade_id_trades"),
    )
    op.create_index(
        "uq_disputes_trade_id_open", "disputes", ["trade_id"], unique=True,
        sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"),
    )


def downgrade() -> None:
    op.drop_table("disputes")
    op.drop_table("refunds")
    op.drop_table("trades")
