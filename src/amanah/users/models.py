"""Users' tables (SQLAlchemy Core: services work on a ``Connection`` the edge owns).

No secret is stored as given: passwords as Argon2id hashes; tokens, session ids, link secrets,
recovery codes and captcha answers as SHA-256 digests (they are long random strings, so a fast
hash is enough; the captcha answer is short but lives ten minutes and works once). The TOTP
seed must be readable to check codes, so it is stored as is: guard the database.
"""

from __future__ import annotations

import sqlalchemy as sa

from amanah.core import limits
from amanah.core.db import BigIntegerPK, UTCDateTime, metadata

TOKEN_PURPOSES_SQL = "('access', 'session', 'password_reset', 'email_verification', 'login_link')"

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    # Stored lower-cased: one account per mailbox, however the address is typed.
    sa.Column("email", sa.String(limits.EMAIL_LENGTH_MAX), nullable=False, unique=True),
    sa.Column("name", sa.String(limits.USER_NAME_LENGTH_MAX), nullable=False, server_default=""),
    sa.Column("locale", sa.String(16), nullable=False, server_default="en"),
    # NULL until the user chooses one (automatic registration from a marketplace).
    sa.Column("password_hash", sa.String(255), nullable=True),
    sa.Column("password_changed_at", UTCDateTime, nullable=True),
    sa.Column("email_verified_at", UTCDateTime, nullable=True),
    sa.Column("totp_secret", sa.String(64), nullable=True),
    sa.Column("totp_pending_secret", sa.String(64), nullable=True),
    sa.Column("totp_last_step", sa.BigInteger, nullable=True),
    sa.Column("registered_automatically", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    # Set when the user closed the account: the row stays (the ledger names it), anonymised.
    sa.Column("closed_at", UTCDateTime, nullable=True),
)

user_tokens = sa.Table(
    "user_tokens",
    metadata,
    sa.Column("id", BigIntegerPK, primary_key=True, autoincrement=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("purpose", sa.String(24), nullable=False),
    sa.Column("user_id", sa.String(32), sa.ForeignKey("users.id"), nullable=False),
    # The platform a single sign-on link or session came from.
    sa.Column("platform_id", sa.String(64), nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("used_at", UTCDateTime, nullable=True),
    sa.Column("revoked_at", UTCDateTime, nullable=True),
    # The browser or app that signed in (sessions and API tokens), shown under Security.
    sa.Column("user_agent", sa.String(limits.USER_AGENT_LENGTH_MAX), nullable=True),
    sa.CheckConstraint(f"purpose IN {TOKEN_PURPOSES_SQL}", name="purpose_known"),
    sa.Index(None, "user_id", "purpose"),
    sa.Index(None, "expires_at"),
)

user_recovery_codes = sa.Table(
    "user_recovery_codes",
    metadata,
    sa.Column("id", BigIntegerPK, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.String(32), sa.ForeignKey("users.id"), nullable=False),
    sa.Column("code_hash", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("used_at", UTCDateTime, nullable=True),
    sa.UniqueConstraint("user_id", "code_hash"),
)

captchas = sa.Table(
    "captchas",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("answer_hash", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("used_at", UTCDateTime, nullable=True),
    sa.Index(None, "expires_at"),
)

login_throttles = sa.Table(
    "login_throttles",
    metadata,
    # "account:<sha256 of the e-mail>" or "address:<IPv4, or IPv6 /64>"; kept for unknown
    # e-mails too, so the answers do not tell whether an account exists.
    sa.Column("key", sa.String(100), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("last_failure_at", UTCDateTime, nullable=False),
    sa.Column("blocked_until", UTCDateTime, nullable=True),
    sa.CheckConstraint("failures >= 0", name="failures_not_negative"),
    sa.Index(None, "last_failure_at"),
)
