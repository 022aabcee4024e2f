"""Operator API keys.

Revision ID: 0004_operators
Revises: 0001_ledger
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_operators"
down_revision = "0001_ledger"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "admin_keys",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("label", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_admin_keys"),
        sa.UniqueConstraint("key_hash", name="uq_admin_keys_key_hash"),
    )


def downgrade() -> None:
    op.drop_table("admin_keys")
