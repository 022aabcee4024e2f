"""The double-entry ledger: accounts and immutable transfers.

Revision ID: 0001_ledger
Revises:
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_ledger"
down_revision = None
branch_labels = None
depends_on = None

BigIntegerPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ledger_accounts",
        sa.Column("id", BigIntegerPK, primary_key=True, autoincrement=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("owner_ref", sa.String(64), nullable=False),
        sa.Column("debits_must_not_exceed_credits", sa.Boolean, nullable=False),
        sa.Column("credits_must_not_exceed_debits", sa.Boolean, nullable=False),
        sa.Column("debits_posted", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("credits_posted", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("debits_pending", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("credits_pending", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_accounts"),
        sa.UniqueConstraint("kind", "owner_ref", "currency", name="uq_ledger_accounts_kind_owner_ref_currency"),
        sa.UniqueConstraint("id", "currency", name="uq_ledger_accounts_id_currency"),
        sa.CheckConstraint(
            "debits_posted >= 0 AND credits_posted >= 0 AND debits_pending >= 0 AND credits_pending >= 0",
            name="ck_ledger_accounts_balances_not_negative",
        ),
        sa.CheckConstraint(
            "NOT (debits_must_not_exceed_credits AND credits_must_not_exceed_debits)",
            name="ck_ledger_accounts_one_flag_at_most",
        ),
        sa.CheckConstraint(
            "NOT debits_must_not_exceed_credits OR debits_posted + debits_pending <= credits_posted",
            name="ck_ledger_accounts_debits_within_credits",
        ),
        sa.CheckConstraint(
            "NOT credits_must_not_exceed_debits OR credits_posted + credits_pending <= debits_posted",
            name="ck_ledger_accounts_credits_within_debits",
        ),
    )
    op.create_table(
        "ledger_transfers",
        sa.Column("seq", BigIntegerPK, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("debit_account_id", sa.BigInteger, nullable=False),
        sa.Column("credit_account_id", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("pending_id", sa.String(64), nullable=True),
        sa.Column("timeout_s", sa.Integer, nullable=True),
        sa.Column("expires_at", Timestamp, nullable=True),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("reference", sa.String(64), nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_ledger_transfers"),
        sa.UniqueConstraint("id", name="uq_ledger_transfers_id"),
        sa.UniqueConstraint("pending_id", name="uq_ledger_transfers_pending_id"),
        sa.ForeignKeyConstraint(["pending_id"], ["ledger_transfers.id"],
                                name="fk_ledger_transfers_pending_id_ledger_transfers"),
        sa.ForeignKeyConstraint(["debit_account_id", "currency"], ["ledger_accounts.id", "ledger_accounts.currency"],
                                name="fk_ledger_transfers_debit_account_id_currency_ledger_accounts"),
        sa.ForeignKeyConstraint(["credit_account_id", "currency"], ["ledger_accounts.id", "ledger_accounts.currency"],
                                name="fk_ledger_transfers_credit_account_id_currency_ledger_accounts"),
        sa.CheckConstraint("amount > 0 AND amount <= 1000000000000000", name="ck_ledger_transfers_amount_in_range"),
        sa.CheckConstraint("debit_account_id <> credit_account_id", name="ck_ledger_transfers_accounts_differ"),
        sa.CheckConstraint(
            "kind IN ('direct', 'pending', 'post_pending', 'void_pending', 'expire_pending')",
            name="ck_ledger_transfers_kind_known",
        ),
        sa.CheckConstraint(
            "(kind IN ('post_pending', 'void_pending', 'expire_pending')) = (pending_id IS NOT NULL)",
            name="ck_ledger_transfers_pending_id_iff_resolving",
        ),
        sa.CheckConstraint(
            "(timeout_s IS NULL AND expires_at IS NULL) OR (kind = 'pending' AND timeout_s > 0 "
            "AND expires_at IS NOT NULL)",
            name="ck_ledger_transfers_timeout_only_on_pending",
        ),
    )
    op.create_index("ix_ledger_transfers_debit_account_id_seq", "ledger_transfers", ["debit_account_id", "seq"])
    op.create_index("ix_ledger_transfers_credit_account_id_seq", "ledger_transfers", ["credit_account_id", "seq"])
    op.create_index("ix_ledger_transfers_expires_at", "ledger_transfers", ["expires_at"])
    op.create_index("ix_ledger_transfers_reference", "ledger_transfers", ["reference"])
    _forbid_changes_to_transfers()


def _forbid_changes_to_transfers() -> None:
    """Transfers are immutable: the database refuses to change or delete one."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION ledger_transfers_are_immutable() RETURNS trigger AS $$
            BEGIN
              RAISE EXCEPTION 'ledger transfers are immutable (% refused)', TG_OP
                USING ERRCODE = 'restrict_violation';
            END $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER ledger_transfers_no_update_or_delete BEFORE UPDATE OR DELETE "
            "ON ledger_transfers FOR EACH ROW EXECUTE FUNCTION ledger_transfers_are_immutable()"
        )
        op.execute(
            "CREATE TRIGGER ledger_transfers_no_truncate BEFORE TRUNCATE "
            "ON ledger_transfers FOR EACH STATEMENT EXECUTE FUNCTION ledger_transfers_are_immutable()"
        )
    else:
        for operation in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER ledger_transfers_no_{operation.lower()} BEFORE {operation} "
                f"ON ledger_transfers BEGIN SELECT RAISE(ABORT, 'ledger transfers are immutable'); END"
            )


def downgrade() -> None:
    op.drop_table("ledger_transfers")
    op.drop_table("ledger_accounts")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION ledger_transfers_are_immutable()")
