"""Webhook tables: endpoints, the event outbox, and one delivery per endpoint and event."""

from __future__ import annotations

import sqlalchemy as sa

from amanah.core import limits
from amanah.core.db import BigIntegerPK, UTCDateTime, metadata

ENDPOINT_STATUSES_SQL = "('enabled', 'disabled')"
DELIVERY_STATUSES_SQL = "('pending', 'succeeded', 'failed')"

endpoints = sa.Table(
    "webhook_endpoints",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("platform_id", sa.String(32), sa.ForeignKey("platforms.id"), nullable=False),
    sa.Column("url", sa.String(limits.WEBHOOK_URL_LENGTH_MAX), nullable=False),
    sa.Column("events", sa.JSON, nullable=False),
    # The signing key must be read back to sign, so it cannot be stored as a hash.
    sa.Column("secret", sa.String(128), nullable=False),
    # enabled: receives events; disabled: it answered 410 Gone (deliveries given up).
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("disabled_reason", sa.String(200), nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("deleted_at", UTCDateTime, nullable=True),
    sa.CheckConstraint(f"status IN {ENDPOINT_STATUSES_SQL}", name="status_known"),
    sa.Index(None, "platform_id", "id"),
)

events = sa.Table(
    "webhook_events",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("platform_id", sa.String(32), sa.ForeignKey("platforms.id"), nullable=False),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("subject_id", sa.String(64), nullable=False),
    # The exact bytes sent (as text): every retry sends the same body.
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index(None, "platform_id", "subject_id"),
)

deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    # ``seq`` is the emission order that per-subject ordering follows; ``id`` is the public id.
    sa.Column("seq", BigIntegerPK, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(32), nullable=False, unique=True),
    sa.Column("endpoint_id", sa.String(32), sa.ForeignKey("webhook_endpoints.id"), nullable=False),
    sa.Column("event_id", sa.String(32), sa.ForeignKey("webhook_events.id"), nullable=False),
    sa.Column("subject_id", sa.String(64), nullable=False),
    # pending: waiting, being sent or between retries; succeeded: a 2xx came back;
    # failed: given up (attempts exhausted, endpoint gone, disabled or deleted).
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("claimed_until", UTCDateTime, nullable=True),
    sa.Column("last_attempt_at", UTCDateTime, nullable=True),
    sa.Column("last_response_status", sa.Integer, nullable=True),
    sa.Column("last_error", sa.String(500), nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("finished_at", UTCDateTime, nullable=True),
    sa.CheckConstraint(f"status IN {DELIVERY_STATUSES_SQL}", name="status_known"),
    sa.CheckConstraint("attempts >= 0", name="attempts_not_negative"),
    sa.Index(None, "status", "next_attempt_at"),
    sa.Index(None, "endpoint_id", "subject_id", "seq"),
    sa.Index(None, "endpoint_id", "seq"),
)
