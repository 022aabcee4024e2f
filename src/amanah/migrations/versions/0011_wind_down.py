"""Wind-down and account closure: who was sent the wind-down notice, and closed accounts.

Revision ID: 0011_wind_down
Revises: 0009_service_mode, 0008_trades
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_wind_down"
down_revision = ("0009_service_mode", "0008_trades")
branch_labels = None
depends_on = None

BigIntegerPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("users", sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "wind_down_notices",
        sa.Column("id", BigIntegerPK, primary_key=True, autoincrement=True),
        sa.Column("wind_down_id", sa.BigInteger, nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_wind_down_notices"),
        sa.ForeignKeyConstraint(["wind_down_id"], ["service_mode_changes.id"],
                                name="fk_wind_down_notices_wind_down_id_service_mode_changes"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_wind_down_notices_user_id_users"),
        # Once per user per wind-down, however many workers race to send it.
        sa.UniqueConstraint("wind_down_id", "user_id", name="uq_wind_down_notices_wind_down_id_user_id"),
    )


def downgrade() -> None:
    op.drop_table("wind_down_notices")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("closed_at")
