"""Rates: store them (imports, the operator by hand, the bundled sample), and read them back
as a ``RateTable`` for a given day or as today's rates for one base currency."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from importlib import resources

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from amanah.core import limits
from amanah.fx import importers
from amanah.fx.errors import InvalidRate
from amanah.fx.models import rates
from amanah.fx.pricing import CrossRate, RateTable
from amanah.fx.types import Rate
from amanah.money import CURRENCIES, Currency, currency

SAMPLE_RATES_FILE = "sample_rates.csv"
_WRITE_CHUNK = 500


@dataclass
class ImportReport:
    format: str
    stored: int
    first_day: date | None
    last_day: date | None
    skipped_currencies: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class RatesView:
    """Every supported currency priced in ``base`` (those with no rate at all are left out)."""

    base: Currency
    on: date
    rates: dict[str, CrossRate]

    @property
    def as_of(self) -> date | None:
        """The oldest day among the rates shown: none of them is older."""
        return min((rate.as_of for rate in self.rates.values()), default=None)


def store_rates(connection: Connection, rows: Iterable[importers.RateRow], *, source: str,
                now: datetime, replace: bool = True) -> int:
    """Stores rates, replacing any given before for the same pair and day (unless ``replace``
    is false: then those are kept); how many were read."""
    values = [_row_values(row, source=source, now=now) for row in rows]
    for start in range(0, len(values), _WRITE_CHUNK):
        _upsert(connection, values[start:start + _WRITE_CHUNK], replace=replace)
    return len(values)


def import_rates_file(connection: Connection, data: bytes, *, now: datetime) -> ImportReport:
    """Reads an ECB ``eurofxref`` XML or a ``date,base,quote,rate`` CSV file and stores it whole."""
    parsed = importers.parse_rates_file(data)
    stored = store_rates(connection, parsed.rows, source=parsed.format, now=now)
    days = [row.as_of for row in parsed.rows]
    return ImportReport(parsed.format, stored, min(days, default=None), max(days, default=None),
                        sorted(parsed.skipped_currencies))


def set_rate(connection: Connection, base: str, quote: str, rate: Decimal | str, *, now: datetime,
             as_of: date | None = None) -> Rate:
    """The operator's own rate (for RUB, UAH, KZT, which the ECB does not publish)."""
    base_currency, quote_currency = currency(base), currency(quote)
    if base_currency == quote_currency:
        raise InvalidRate(f"A rate needs two different currencies, not {base_currency.code} twice.",
                          param="quote")
    exact = importers.parse_rate(rate) if isinstance(rate, str) else rate
    importers.check_rate(exact)
    row = importers.RateRow(as_of or now.date(), base_currency.code, quote_currency.code, exact)
    store_rates(connection, [row], source="manual", now=now)
    return Rate(base_currency, quote_currency, exact, row.as_of, "manual", now)


def load_sample_rates(connection: Connection, *, now: datetime) -> int:
    """Stores the bundled SAMPLE rates (not real ones) dated today, so a demo works offline.

    A pair that already has a rate for today keeps it: sample data never overwrites real data."""
    data = resources.files("amanah.fx").joinpath(SAMPLE_RATES_FILE).read_bytes()
    parsed = importers.parse_rates_file(data)
    today = [importers.RateRow(now.date(), r.base, r.quote, r.rate) for r in parsed.rows]
    return store_rates(connection, today, source="sample", now=now, replace=False)


def rate_table(connection: Connection, *, on: date, age_max_days: int) -> RateTable:
    """The newest rate of every pair on or before ``on``."""
    newest = (
        sa.select(rates.c.base, rates.c.quote, sa.func.max(rates.c.as_of).label("as_of"))
        .where(rates.c.as_of <= on)
        .group_by(rates.c.base, rates.c.quote)
        .subquery()
    )
    query = sa.select(rates).join(
        newest,
        (rates.c.base == newest.c.base) & (rates.c.quote == newest.c.quote) & (rates.c.as_of == newest.c.as_of),
    ).order_by(rates.c.id)
    found = [
        Rate(CURRENCIES[row.base], CURRENCIES[row.quote], row.rate, row.as_of, row.source, row.imported_at)
        for row in connection.execute(query)
        if row.base in CURRENCIES and row.quote in CURRENCIES
    ]
    return RateTable(found, on=on, age_max_days=age_max_days)


def rates_for(connection: Connection, base: str, *, on: date, age_max_days: int) -> RatesView:
    """Every other currency priced in ``base`` on the day ``on`` (fresh chains preferred)."""
    base_currency = currency(base)
    table = rate_table(connection, on=on, age_max_days=age_max_days)
    found: dict[str, CrossRate] = {}
    for other in CURRENCIES.values():
        if other == base_currency:
            continue
        cross = table.find(base_currency, other, fresh_only=True) or table.find(
            base_currency, other, fresh_only=False
        )
        if cross is not None:
            found[other.code] = cross
    return RatesView(base_currency, on, found)


def _row_values(row: importers.RateRow, *, source: str, now: datetime) -> dict:
    latest = now.date() + timedelta(days=limits.FX_RATE_DATE_AHEAD_MAX_DAYS)
    if row.as_of > latest:
        raise InvalidRate(
            f"The rate for {row.base}/{row.quote} is dated {row.as_of.isoformat()}, in the future.",
            param="date",
        )
    assert row.base in CURRENCIES and row.quote in CURRENCIES and row.base != row.quote, row
    return {"base": row.base, "quote": row.quote, "rate": row.rate, "as_of": row.as_of,
            "source": source, "imported_at": now}


def _upsert(connection: Connection, values: list[dict], *, replace: bool) -> None:
    if not values:
        return
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(rates).values(values)
    if not replace:
        connection.execute(insert.on_conflict_do_nothing(index_elements=["base", "quote", "as_of"]))
        return
    connection.execute(
        insert.on_conflict_do_update(
            index_elements=["base", "quote", "as_of"],
            set_={"rate": insert.excluded.rate, "source": insert.excluded.source,
                  "imported_at": insert.excluded.imported_at},
        )
    )
