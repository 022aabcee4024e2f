"""Who was sent the wind-down notice (``users.closed_at`` marks closed accounts)."""

from __future__ import annotations

import sqlalchemy as sa

from amanah.core.db import BigIntegerPK, UTCDateTime, metadata

wind_down_notices = sa.Table(
    "wind_down_notices",
    metadata,
    sa.Column("id", BigIntegerPK, primary_key=True, autoincrement=True),
    # The service_mode_changes row that began this wind-down.
    sa.Column("wind_down_id", sa.BigInteger, sa.ForeignKey("service_mode_changes.id"), nullable=False),
    sa.Column("user_id", sa.String(32), sa.ForeignKey("users.id"), nullable=False),
    sa.Column("notified_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("wind_down_id", "user_id"),
)
