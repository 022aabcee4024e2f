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
    sa.UniqueConstraint("platform_id", "platform_seller_id"),
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
