from __future__ import annotations

import sqlalchemy as sa

from amanah.core.db import UTCDateTime, metadata

platforms = sa.Table(
    "platforms",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("disabled_at", UTCDateTime, nullable=True),
    # The most this platform may take of a trade, in basis points (operator-set; migration 0020).
    sa.Column("fee_bps_max", sa.Integer, nullable=False, server_default="3000"),
    sa.CheckConstraint("fee_bps_max BETWEEN 0 AND 10000", name="fee_bps_max"),
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
