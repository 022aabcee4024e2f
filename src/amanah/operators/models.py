from __future__ import annotations

import sqlalchemy as sa

from amanah.core import limits
from amanah.core.db import BigIntegerPK, UTCDateTime, metadata

admin_keys = sa.Table(
    "admin_keys",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("label", sa.String(100), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("revoked_at", UTCDateTime, nullable=True),
)

# Operator accounts: the people who log in to the back office (``/backoffice``). A password
# (Argon2id, the users' hashing) AND a TOTP code are needed every time: there is no account
# without a TOTP secret. ``amanah operators create`` prints a one-time password, which must be
# changed at the first log-in (``password_change_required``).
operator_accounts = sa.Table(
    "operator_accounts",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("email", sa.String(limits.EMAIL_LENGTH_MAX), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("password_change_required", sa.Boolean, nullable=False),
    sa.Column("totp_secret", sa.String(64), nullable=False),
    sa.Column("totp_last_step", sa.BigInteger, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("disabled_at", UTCDateTime, nullable=True),
)

# Back-office sessions; the cookie carries the secret, the table only its SHA-256 digest.
operator_sessions = sa.Table(
    "operator_sessions",
    metadata,
    sa.Column("id", BigIntegerPK, primary_key=True, autoincrement=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("operator_id", sa.String(32), sa.ForeignKey("operator_accounts.id"), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("last_seen_at", UTCDateTime, nullable=False),
    sa.Column("ended_at", UTCDateTime, nullable=True),
    sa.Column("user_agent", sa.String(limits.USER_AGENT_LENGTH_MAX), nullable=True),
    sa.Index(None, "operator_id"),
)

ACTOR_TYPES_SQL = "('account', 'api_key', 'cli')"

# Every operator action: who (an operator account, an operator API key, or the command line),
# what, on what, the state before and after, and from where. Rows are only ever inserted: the
# database refuses UPDATE, DELETE (and TRUNCATE on PostgreSQL) with triggers (migration
# 0013_backoffice), and no code path edits them.
operator_audit_log = sa.Table(
    "operator_audit_log",
    metadata,
    sa.Column("seq", BigIntegerPK, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(32), nullable=False, unique=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("actor_type", sa.String(16), nullable=False),
    sa.Column("actor_id", sa.String(64), nullable=False),
    sa.Column("actor_label", sa.String(limits.AUDIT_LABEL_LENGTH_MAX), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("target_type", sa.String(32), nullable=True),
    sa.Column("target_id", sa.String(64), nullable=True),
    sa.Column("before", sa.JSON(none_as_null=True), nullable=True),
    sa.Column("after", sa.JSON(none_as_null=True), nullable=True),
    sa.Column("request_id", sa.String(64), nullable=True),
    sa.Column("client_address", sa.String(64), nullable=True),
    sa.CheckConstraint(f"actor_type IN {ACTOR_TYPES_SQL}", name="actor_type_known"),
    sa.Index(None, "actor_id", "seq"),
    sa.Index(None, "action", "seq"),
)
