"""Platforms (marketplaces), their sellers and their buyers' ids.

Revision ID: 0006_platforms
Revises: 0002_users
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_platforms"
down_revision = "0002_users"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "platforms",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("disabled_at", Timestamp, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_platforms"),
        sa.UniqueConstraint("key_hash", name="uq_platforms_key_hash"),
    )
    op.create_table(
        "sellers",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("platform_id", sa.String(32), nullable=False),
        sa.Column("platform_seller_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sellers"),
        sa.ForeignKeyConstraint(["platform_id"], ["platforms.id"], name="fk_sellers_platform_id_platforms"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_sellers_user_id_users"),
        sa.UniqueConstraint("platform_id", "platform_seller_id", name="uq_sellers_platform_id_platform_seller_id"),
    )
    op.create_index("ix_sellers_user_id", "sellers", ["user_id"])
    op.create_table(
        "platform_users",
        sa.Column("platform_id", sa.String(32), nullable=False),
        sa.Column("platform_user_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("registered_here", sa.Boolean, nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("platform_id", "platform_user_id", name="pk_platform_users"),
        sa.ForeignKeyConstraint(["platform_id"], ["platforms.id"], name="fk_platform_users_platform_id_platforms"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_platform_users_user_id_users"),
    )


def downgrade() -> None:
    op.drop_table("platform_users")
    op.drop_table("sellers")
    op.drop_table("platforms")
