"""Top-ups and withdrawals: the wallet's own records. The money itself is in the ledger; these
rows say why it moved (their id is the ledger transfers' ``reference``) and how far they got."""

from __future__ import annotations

import sqlalchemy as sa

from amanah.core.db import UTCDateTime, metadata

topups = sa.Table(
    "topups",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("user_id", sa.String(32), sa.ForeignKey("users.id"), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("source", sa.String(40), nullable=False),  # card_… or wallet:<provider>
    sa.Column("source_label", sa.String(64), nullable=False),  # "Visa •••• 4242", shown in history
    sa.Column("charge_amount", sa.BigInteger, nullable=False),
    sa.Column("charge_currency", sa.String(3), nullable=False),
    sa.Column("quote_id", sa.String(32), nullable=True),
    sa.Column("charge_id", sa.String(32), sa.ForeignKey("charges.id"), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("failure_code", sa.String(32), nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Index(None, "user_id", "id"),
)

withdrawals = sa.Table(
    "withdrawals",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("user_id", sa.String(32), sa.ForeignKey("users.id"), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("card_id", sa.String(32), sa.ForeignKey("cards.id"), nullable=False),
    sa.Column("destination_label", sa.String(64), nullable=False),
    sa.Column("connector", sa.String(32), nullable=False),
    sa.Column("connector_reference", sa.String(64), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("failure_code", sa.String(32), nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Index(None, "user_id", "id"),
    # The daily limit sums one user's withdrawals of one currency over the last 24 hours.
    sa.Index(None, "user_id", "currency", "created_at"),
)
