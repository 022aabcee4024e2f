"""FX: exchange rates per pair and day, and single-use quotes.

Revision ID: 0003_fx
Revises: 0001_ledger
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_fx"
down_revision = "0001_ledger"
branch_labels = None
depends_on = None

BigIntegerPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Timestamp = sa.DateTime(timezone=True)
RateText = sa.String(48)  # an exact decimal as text; SQLite's NUMERIC would pass through a float


def upgrade() -> None:
    op.create_table(
        "fx_rates",
        sa.Column("id", BigIntegerPK, primary_key=True, autoincrement=True),
        sa.Column("base", sa.String(3), nullable=False),
        sa.Column("quote", sa.String(3), nullable=False),
        sa.Column("rate", RateText, nullable=False),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("imported_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_fx_rates"),
        sa.UniqueConstraint("base", "quote", "as_of", name="uq_fx_rates_base_quote_as_of"),
        sa.CheckConstraint("base <> quote", name="ck_fx_rates_pair_of_two"),
        sa.CheckConstraint("source IN ('ecb', 'csv', 'manual', 'sample')", name="ck_fx_rates_source_known"),
    )
    op.create_table(
        "fx_quotes",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("sell_currency", sa.String(3), nullable=False),
        sa.Column("sell_amount", sa.BigInteger, nullable=False),
        sa.Column("buy_currency", sa.String(3), nullable=False),
        sa.Column("buy_amount", sa.BigInteger, nullable=False),
        sa.Column("spread_amount", sa.BigInteger, nullable=False),
        sa.Column("rate", RateText, nullable=False),
        sa.Column("mid_rate", RateText, nullable=False),
        sa.Column("spread_bps", sa.Integer, nullable=False),
        sa.Column("rates_as_of", sa.Date, nullable=False),
        sa.Column("owner_ref", sa.String(64), nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("expires_at", Timestamp, nullable=False),
        sa.Column("used_at", Timestamp, nullable=True),
        sa.Column("used_by", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_fx_quotes"),
        sa.CheckConstraint(
            "sell_amount > 0 AND sell_amount <= 1000000000000000 "
            "AND buy_amount > 0 AND buy_amount <= 1000000000000000",
            name="ck_fx_quotes_amounts_in_range",
        ),
        sa.CheckConstraint("spread_amount >= 0 AND spread_amount < sell_amount",
                           name="ck_fx_quotes_spread_in_range"),
        sa.CheckConstraint("sell_currency <> buy_currency", name="ck_fx_quotes_currencies_differ"),
        sa.CheckConstraint("(used_at IS NULL) = (used_by IS NULL)", name="ck_fx_quotes_used_at_iff_used_by"),
    )
    op.create_index("ix_fx_quotes_expires_at", "fx_quotes", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_fx_quotes_expires_at", table_name="fx_quotes")
    op.drop_table("fx_quotes")
    op.drop_table("fx_rates")
