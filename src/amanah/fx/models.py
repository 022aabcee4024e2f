"""FX tables (SQLAlchemy Core, like the ledger: services work on the edge's ``Connection``).

Rates are kept per day: one row per (base, quote, as_of), replaced when a newer import or the
operator gives the same pair and day again, so history stays queryable by date. A quote keeps
the exact rates and amounts it was priced at, so a later import never changes a quote.
Rates are stored as decimal text: SQLite's NUMERIC would pass them through a float."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from amanah.core import limits
from amanah.core.db import BigIntegerPK, UTCDateTime, metadata

RATE_TEXT_LENGTH = 48
SOURCES = ("ecb", "csv", "manual", "sample")
"""Where a rate came from: an ECB file, a CSV file, the operator by hand, the bundled sample."""


class DecimalText(sa.TypeDecorator):
    """An exact ``Decimal`` stored as its plain decimal text (never a float, on any database)."""

    impl = sa.String(RATE_TEXT_LENGTH)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect) -> str | None:
        if value is None:
            return None
        assert type(value) is Decimal and value.is_finite(), value
        text = format(value, "f")
        assert len(text) <= RATE_TEXT_LENGTH, text
        return text

    def process_result_value(self, value: str | None, dialect) -> Decimal | None:
        return None if value is None else Decimal(value)


rates = sa.Table(
    "fx_rates",
    metadata,
    sa.Column("id", BigIntegerPK, primary_key=True, autoincrement=True),
    sa.Column("base", sa.String(3), nullable=False),
    sa.Column("quote", sa.String(3), nullable=False),
    sa.Column("rate", DecimalText, nullable=False),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("imported_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("base", "quote", "as_of"),
    sa.CheckConstraint("base <> quote", name="pair_of_two"),
    sa.CheckConstraint(f"source IN {SOURCES!r}", name="source_known"),
)

quotes = sa.Table(
    "fx_quotes",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("sell_currency", sa.String(3), nullable=False),
    sa.Column("sell_amount", sa.BigInteger, nullable=False),
    sa.Column("buy_currency", sa.String(3), nullable=False),
    sa.Column("buy_amount", sa.BigInteger, nullable=False),
    sa.Column("spread_amount", sa.BigInteger, nullable=False),
    sa.Column("rate", DecimalText, nullable=False),
    sa.Column("mid_rate", DecimalText, nullable=False),
    sa.Column("spread_bps", sa.Integer, nullable=False),
    sa.Column("rates_as_of", sa.Date, nullable=False),
    sa.Column("owner_ref", sa.String(64), nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("used_at", UTCDateTime, nullable=True),
    sa.Column("used_by", sa.String(limits.TRANSFER_REFERENCE_LENGTH_MAX), nullable=True),
    sa.CheckConstraint(
        f"sell_amount > 0 AND sell_amount <= {limits.AMOUNT_MAX_MINOR} "
        f"AND buy_amount > 0 AND buy_amount <= {limits.AMOUNT_MAX_MINOR}",
        name="amounts_in_range",
    ),
    sa.CheckConstraint("spread_amount >= 0 AND spread_amount < sell_amount", name="spread_in_range"),
    sa.CheckConstraint("sell_currency <> buy_currency", name="currencies_differ"),
    sa.CheckConstraint("(used_at IS NULL) = (used_by IS NULL)", name="used_at_iff_used_by"),
    sa.Index(None, "expires_at"),
)
