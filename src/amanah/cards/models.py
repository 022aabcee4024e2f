"""Cards, charges, and the sandbox connectors' own records."""

from __future__ import annotations

import sqlalchemy as sa

from amanah.core.db import UTCDateTime, metadata

cards = sa.Table(
    "cards",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("user_id", sa.String(32), sa.ForeignKey("users.id"), nullable=False),
    sa.Column("brand", sa.String(16), nullable=False),
    sa.Column("last4", sa.String(4), nullable=False),
    sa.Column("exp_month", sa.Integer, nullable=False),
    sa.Column("exp_year", sa.Integer, nullable=False),
    sa.Column("holder_name", sa.String(100), nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    # Encrypted number and wrapped data key; both wiped when the card is deleted.
    sa.Column("number_ciphertext", sa.LargeBinary, nullable=True),
    sa.Column("wrapped_key", sa.LargeBinary, nullable=True),
    sa.Column("kek_id", sa.String(16), nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("deleted_at", UTCDateTime, nullable=True),
)

charges = sa.Table(
    "charges",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("user_id", sa.String(32), sa.ForeignKey("users.id"), nullable=False),
    sa.Column("method", sa.String(40), nullable=False),
    sa.Column("card_id", sa.String(32), sa.ForeignKey("cards.id"), nullable=True),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("failure_code", sa.String(32), nullable=True),
    sa.Column("purpose", sa.String(64), nullable=False),
    sa.Column("return_url", sa.String(500), nullable=True),
    sa.Column("connector", sa.String(32), nullable=False),
    sa.Column("connector_reference", sa.String(64), nullable=True),
    sa.Column("action_url", sa.String(500), nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

sandbox_operations = sa.Table(
    "sandbox_operations",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("connector", sa.String(32), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("charge_id", sa.String(32), nullable=True),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("failure_code", sa.String(32), nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)
