"""The mail outbox table."""

from __future__ import annotations

import sqlalchemy as sa

from amanah.core import limits
from amanah.core.db import BigIntegerPK, UTCDateTime, metadata

STATUSES_SQL = "('queued', 'sent', 'failed')"

outbox = sa.Table(
    "mail_outbox",
    metadata,
    sa.Column("id", BigIntegerPK, primary_key=True, autoincrement=True),
    sa.Column("to_address", sa.String(limits.EMAIL_LENGTH_MAX), nullable=False),
    sa.Column("template", sa.String(64), nullable=False),
    sa.Column("locale", sa.String(16), nullable=False),
    sa.Column("params", sa.JSON, nullable=False),
    # queued: waiting or between retries; sent: handed to the SMTP server or written as .eml;
    # failed: given up (permanent refusal or too many attempts).
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("claimed_until", UTCDateTime, nullable=True),
    sa.Column("last_error", sa.String(500), nullable=True),
    sa.Column("subject", sa.Text, nullable=True),
    sa.Column("text_body", sa.Text, nullable=True),
    sa.Column("html_body", sa.Text, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("sent_at", UTCDateTime, nullable=True),
    sa.CheckConstraint(f"status IN {STATUSES_SQL}", name="status_known"),
    sa.CheckConstraint("attempts >= 0", name="attempts_not_negative"),
    sa.Index(None, "status", "next_attempt_at"),
    sa.Index(None, "sent_at"),
)
