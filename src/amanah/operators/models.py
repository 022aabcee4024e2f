from __future__ import annotations

import sqlalchemy as sa

from amanah.core.db import UTCDateTime, metadata

admin_keys = sa.Table(
    "admin_keys",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("label", sa.String(100), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("revoked_at", UTCDateTime, nullable=True),
)
