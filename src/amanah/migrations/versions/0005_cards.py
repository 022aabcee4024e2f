"""Cards (the vault's encrypted numbers), charges, and the sandbox connectors' records.

Revision ID: 0005_cards
Revises: 0002_users
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_cards"
down_revision = "0002_users"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "cards",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("brand", sa.String(16), nullable=False),
        sa.Column("last4", sa.String(4), nullable=False),
        sa.Column("exp_month", sa.Integer, nullable=False),
        sa.Column("exp_year", sa.Integer, nullable=False),
        sa.Column("holder_name", sa.String(100), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("number_ciphertext", sa.LargeBinary, nullable=True),
        sa.Column("wrapped_key", sa.LargeBinary, nullable=True),
        sa.Column("kek_id", sa.String(16), nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("deleted_at", Timestamp, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_cards"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_cards_user_id_users"),
        sa.CheckConstraint("exp_month BETWEEN 1 AND 12", name="ck_cards_exp_month_valid"),
        sa.CheckConstraint("length(last4) = 4", name="ck_cards_last4_four_digits"),
        # A live card has its sealed number; a deleted one has none left.
        sa.CheckConstraint(
            "(deleted_at IS NULL AND number_ciphertext IS NOT NULL AND wrapped_key IS NOT NULL AND kek_id IS NOT NULL)"
            " OR (deleted_at IS NOT NULL AND number_ciphertext IS NULL AND wrapped_key IS NULL AND kek_id IS NULL)",
            name="ck_cards_sealed_while_live",
        ),
    )
    op.create_index("ix_cards_user_id_created_at", "cards", ["user_id", "created_at"])
    op.create_index("ix_cards_kek_id", "cards", ["kek_id"])
    op.create_index(
        "uq_cards_user_id_fingerprint_live", "cards", ["user_id", "fingerprint"], unique=True,
        sqlite_where=sa.text("deleted_at IS NULL"), postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_table(
        "charges",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("method", sa.String(40), nullable=False),
        sa.Column("card_id", sa.String(32), nullable=True),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("failure_code", sa.String(32), nullable=True),
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.Column("return_url", sa.String(500), nullable=True),
        sa.Column("connector", sa.String(32), nullable=False),
        sa.Column("connector_reference", sa.String(64), nullable=True),
        sa.Column("action_url", sa.String(500), nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_charges"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_charges_user_id_users"),
        sa.ForeignKeyConstraint(["card_id"], ["cards.id"], name="fk_charges_card_id_cards"),
        sa.CheckConstraint("amount > 0", name="ck_charges_amount_positive"),
        sa.CheckConstraint("status IN ('processing', 'requires_action', 'succeeded', 'failed')",
                           name="ck_charges_status_known"),
    )
    op.create_index("ix_charges_status_updated_at", "charges", ["status", "updated_at"])
    op.create_index("ix_charges_purpose", "charges", ["purpose"])
    op.create_table(
        "sandbox_operations",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("connector", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("charge_id", sa.String(32), nullable=True),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("failure_code", sa.String(32), nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sandbox_operations"),
    )
    op.create_index("ix_sandbox_operations_connector_charge_id", "sandbox_operations", ["connector", "charge_id"])


def downgrade() -> None:
    op.drop_table("sandbox_operations")
    op.drop_table("charges")
    op.drop_table("cards")
