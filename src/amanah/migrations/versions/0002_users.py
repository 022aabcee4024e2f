"""Users and sign-in (users, tokens, recovery codes, captchas, log-in throttles) and the mail outbox.

Revision ID: 0002_users
Revises: 0001_ledger
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_users"
down_revision = "0001_ledger"
branch_labels = None
depends_on = None

BigIntegerPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    _users()
    _user_tokens()
    _user_recovery_codes()
    _captchas()
    _login_throttles()
    _mail_outbox()


def _users() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("name", sa.String(200), nullable=False, server_default=""),
        sa.Column("locale", sa.String(16), nullable=False, server_default="en"),
        sa.Column("password_hash", sa.String(255), nullable=True),
        sa.Column("password_changed_at", Timestamp, nullable=True),
        sa.Column("email_verified_at", Timestamp, nullable=True),
        sa.Column("totp_secret", sa.String(64), nullable=True),
        sa.Column("totp_pending_secret", sa.String(64), nullable=True),
        sa.Column("totp_last_step", sa.BigInteger, nullable=True),
        sa.Column("registered_automatically", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("email", name="uq_users_email"),
    )


def _user_tokens() -> None:
    op.create_table(
        "user_tokens",
        sa.Column("id", BigIntegerPK, primary_key=True, autoincrement=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(24), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("platform_id", sa.String(64), nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("expires_at", Timestamp, nullable=False),
        sa.Column("used_at", Timestamp, nullable=True),
        sa.Column("revoked_at", Timestamp, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_user_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_user_tokens_token_hash"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_user_tokens_user_id_users"),
        sa.CheckConstraint(
            "purpose IN ('access', 'session', 'password_reset', 'email_verification', 'login_link')",
            name="ck_user_tokens_purpose_known",
        ),
    )
    op.create_index("ix_user_tokens_user_id_purpose", "user_tokens", ["user_id", "purpose"])
    op.create_index("ix_user_tokens_expires_at", "user_tokens", ["expires_at"])


def _user_recovery_codes() -> None:
    op.create_table(
        "user_recovery_codes",
        sa.Column("id", BigIntegerPK, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("used_at", Timestamp, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_user_recovery_codes"),
        sa.UniqueConstraint("user_id", "code_hash", name="uq_user_recovery_codes_user_id_code_hash"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_user_recovery_codes_user_id_users"),
    )


def _captchas() -> None:
    op.create_table(
        "captchas",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("answer_hash", sa.String(64), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("expires_at", Timestamp, nullable=False),
        sa.Column("used_at", Timestamp, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_captchas"),
    )
    op.create_index("ix_captchas_expires_at", "captchas", ["expires_at"])


def _login_throttles() -> None:
    op.create_table(
        "login_throttles",
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("last_failure_at", Timestamp, nullable=False),
        sa.Column("blocked_until", Timestamp, nullable=True),
        sa.PrimaryKeyConstraint("key", name="pk_login_throttles"),
        sa.CheckConstraint("failures >= 0", name="ck_login_throttles_failures_not_negative"),
    )
    op.create_index("ix_login_throttles_last_failure_at", "login_throttles", ["last_failure_at"])


def _mail_outbox() -> None:
    op.create_table(
        "mail_outbox",
        sa.Column("id", BigIntegerPK, primary_key=True, autoincrement=True),
        sa.Column("to_address", sa.String(254), nullable=False),
        sa.Column("template", sa.String(64), nullable=False),
        sa.Column("locale", sa.String(16), nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", Timestamp, nullable=False),
        sa.Column("claimed_until", Timestamp, nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("subject", sa.Text, nullable=True),
        sa.Column("text_body", sa.Text, nullable=True),
        sa.Column("html_body", sa.Text, nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("sent_at", Timestamp, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_mail_outbox"),
        sa.CheckConstraint("status IN ('queued', 'sent', 'failed')", name="ck_mail_outbox_status_known"),
        sa.CheckConstraint("attempts >= 0", name="ck_mail_outbox_attempts_not_negative"),
    )
    op.create_index("ix_mail_outbox_status_next_attempt_at", "mail_outbox", ["status", "next_attempt_at"])
    op.create_index("ix_mail_outbox_sent_at", "mail_outbox", ["sent_at"])


def downgrade() -> None:
    op.drop_table("mail_outbox")
    op.drop_table("login_throttles")
    op.drop_table("captchas")
    op.drop_table("user_recovery_codes")
    op.drop_table("user_tokens")
    op.drop_table("users")
