from __future__ import annotations

import sqlalchemy as sa

from amanah.core.db import UTCDateTime, metadata

platforms = sa.Table(
    "platforms",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    # Set by an operator: every key of the platform is refused (401) until it is enabled again.
    sa.Column("disabled_at", UTCDateTime, nullable=True),
    # The most this platform may take of a trade, in basis points (operator-set; migration 0020).
    sa.Column("fee_bps_max", sa.Integer, nullable=False, server_default="3000"),
    sa.CheckConstraint("fee_bps_max BETWEEN 0 AND 10000", name="fee_bps_max"),
)

platform_keys = sa.Table(
    "platform_keys",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("platform_id", sa.String(32), sa.ForeignKey("platforms.id"), nullable=False),
    # SHA-256 of the secret ``sk_…`` (256 random bits); the secret itself is shown once, never stored.
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    # The secret's last four characters, so an operator can tell which key leaked (NULL for keys
    # made before migration 0023).
    sa.Column("last4", sa.String(4), nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    # A rotation's grace period: the key is refused from this moment on (NULL: no end).
    sa.Column("expires_at", UTCDateTime, nullable=True),
    sa.Column("revoked_at", UTCDateTime, nullable=True),
    sa.CheckConstraint("expires_at IS NULL OR expires_at >= created_at", name="expires_after_created"),
    sa.CheckConstraint("revoked_at IS NULL OR revoked_at >= created_at", name="revoked_after_created"),
    sa.Index("ix_platform_keys_platform_id", "platform_id", "created_at"),
)

sellers = sa.Table(
    "sellers",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("platform_id", sa.String(32), sa.ForeignKey("platforms.id"), nullable=False),
    sa.Column("platform_seller_id", sa.String(64), nullable=False),
    sa.Column("user_id", sa.String(32), sa.ForeignKey("users.id"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    # active; pending until the person behind an existing account accepts; declined (SellerStatus).
    sa.Column("status", sa.String(16), nullable=False, server_default="active"),
    sa.Column("decided_at", UTCDateTime, nullable=True),
    sa.UniqueConstraint("platform_id", "platform_seller_id"),
    sa.CheckConstraint("status IN ('active', 'pending', 'declined')", name="status"),
    sa.Index("ix_sellers_user_id", "user_id"),
)

platform_users = sa.Table(
    "platform_users",
    metadata,
    sa.Column("platform_id", sa.String(32), sa.ForeignKey("platforms.id"), primary_key=True),
    sa.Column("platform_user_id", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.String(32), sa.ForeignKey("users.id"), nullable=False),
    # True when this platform's first trade registered the user: only then may it log them in.
    sa.Column("registered_here", sa.Boolean, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

sso_consents = sa.Table(
    "sso_consents",
    metadata,
    # The person lets this platform sign them in by single sign-on link although they have set a
    # password ("My account → Marketplaces"); deleting the row withdraws it (migration 0021).
    sa.Column("user_id", sa.String(32), sa.ForeignKey("users.id"), primary_key=True),
    sa.Column("platform_id", sa.String(32), sa.ForeignKey("platforms.id"), primary_key=True),
    sa.Column("allowed_at", UTCDateTime, nullable=False),
)
