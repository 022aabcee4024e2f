"""The service mode's history (normal / wind_down).

Revision ID: 0009_service_mode
Revises: 0001_ledger
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_service_mode"
down_revision = "0001_ledger"
branch_labels = None
depends_on = None

BigIntegerPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "service_mode_changes",
        sa.Column("id", BigIntegerPK, primary_key=True, autoincrement=True),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("changed_by", sa.String(100), nullable=False),
        sa.Column("reason", sa.String(500), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_service_mode_changes"),
        sa.CheckConstraint("mode IN ('normal', 'wind_down')", name="ck_service_mode_changes_mode_known"),
    )


def downgrade() -> None:
    op.drop_table("service_mode_changes")
