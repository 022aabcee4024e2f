"""The back office: operator accounts (password + TOTP), their sessions, and the audit log of
every operator action, which the database keeps immutable (as it does ledger transfers).

Revision ID: 0013_backoffice
Revises: 0012_sessions
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_backoffice"
down_revision = "0012_sessions"
branch_labels = None
depends_on = None

BigIntegerPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "operator_accounts",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("password_change_required", sa.Boolean, nullable=False),
        sa.Column("totp_secret", sa.String(64), nullable=False),
        sa.Column("totp_last_step", sa.BigInteger, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_operator_accounts"),
        sa.UniqueConstraint("email", name="uq_operator_accounts_email"),
    )
    op.create_table(
        "operator_sessions",
        sa.Column("id", BigIntegerPK, autoincrement=True, nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("operator_id", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("user_agent", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_operator_sessions"),
        sa.UniqueConstraint("token_hash", name="uq_operator_sessions_token_hash"),
        sa.ForeignKeyConstraint(["operator_id"], ["operator_accounts.id"],
                                name="fk_operator_sessions_operator_id_operator_accounts"),
    )
    op.create_index("ix_operator_sessions_operator_id", "operator_sessions", ["operator_id"])
    op.create_table(
        "operator_audit_log",
        sa.Column("seq", BigIntegerPK, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_type", sa.String(16), nullable=False),
        sa.Column("actor_id", sa.String(64), nullable=False),
        sa.Column("actor_label", sa.String(320), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target_type", sa.String(32), nullable=True),
        sa.Column("target_id", sa.String(64), nullable=True),
        sa.Column("before", sa.JSON, nullable=True),
        sa.Column("after", sa.JSON, nullable=True),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Column("client_address", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("seq", name="pk_operator_audit_log"),
        sa.UniqueConstraint("id", name="uq_operator_audit_log_id"),
        sa.CheckConstraint("actor_type IN ('account', 'api_key', 'cli')",
                           name="ck_operator_audit_log_actor_type_known"),
    )
    op.create_index("ix_operator_audit_log_actor_id_seq", "operator_audit_log", ["actor_id", "seq"])
    op.create_index("ix_operator_audit_log_action_seq", "operator_audit_log", ["action", "seq"])
    _protect_audit_log()


def _protect_audit_log() -> None:
    """The pattern of 0001_ledger (ledger_transfers): triggers refuse every change of a row."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION operator_audit_log_is_immutable() RETURNS trigger AS $$
            BEGIN
              RAISE EXCEPTION 'the operator audit log is immutable (% refused)', TG_OP
                USING ERRCODE = 'restrict_violation';
            END $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER operator_audit_log_no_update_or_delete BEFORE UPDATE OR DELETE "
            "ON operator_audit_log FOR EACH ROW EXECUTE FUNCTION operator_audit_log_is_immutable()"
        )
        op.execute(
            "CREATE TRIGGER operator_audit_log_no_truncate BEFORE TRUNCATE "
            "ON operator_audit_log FOR EACH STATEMENT EXECUTE FUNCTION operator_audit_log_is_immutable()"
        )
    else:
        for operation in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER operator_audit_log_no_{operation.lower()} BEFORE {operation} "
                f"ON operator_audit_log BEGIN SELECT RAISE(ABORT, 'the operator audit log is immutable'); END"
            )


def downgrade() -> None:
    op.drop_table("operator_audit_log")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION operator_audit_log_is_immutable()")
    op.drop_table("operator_sessions")
    op.drop_table("operator_accounts")
