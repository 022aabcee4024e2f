"""Trust (issue 27, single sign-on): a person who has set a password decides which marketplaces
may still sign them in by link.

Revision ID: 0021_sso_consent
Revises: 0020_seller_consent
Create Date: 2026-12-07

- ``sso_consents``: one row per (person, platform) the person allowed under "My account →
  Marketplaces"; withdrawing deletes it. The primary key makes the switch idempotent in the
  database, the foreign keys keep it to real people and platforms.
"""

import sqlalchemy as sa
from alembic import op

revision = "0021_sso_consent"
down_revision = "0020_seller_consent"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sso_consents",
        sa.Column("user_id", sa.String(32), sa.ForeignKey("users.id", name="fk_sso_consents_user_id_users"),
                  nullable=False),
        sa.Column("platform_id", sa.String(32),
                  sa.ForeignKey("platforms.id", name="fk_sso_consents_platform_id_platforms"), nullable=False),
        sa.Column("allowed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "platform_id", name="pk_sso_consents"),
    )


def downgrade() -> None:
    op.drop_table("sso_consents")
