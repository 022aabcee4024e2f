"""FX tests share the session's database, so each test prices on a day of its own, far from
the others' (more than any rate age apart): the rates one test stores never look fresh to
another."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy.engine import Engine

from amanah.core.config import Settings
from amanah.core.db import run_in_transaction
from amanah.fx import service
from amanah.fx.importers import RateRow

_DAYS = itertools.count()
_FIRST_DAY = date(2300, 1, 1)
_DAYS_APART = 100


@dataclass
class FxDay:
    """A day of this test's own, and short-hands to store rates on it and run FX use cases."""

    engine: Engine
    day: date
    settings: Settings

    @property
    def now(self) -> datetime:
        return datetime.combine(self.day, time(12), tzinfo=timezone.utc)

    def run(self, work):
        return run_in_transaction(self.engine, work)

    def store(self, *rates: tuple[str, str, str], days_ago: int = 0, source: str = "csv") -> None:
        rows = [RateRow(self.day - timedelta(days=days_ago), base, quote, Decimal(value))
                for base, quote, value in rates]
        self.run(lambda c: service.store_rates(c, rows, source=source, now=self.now))

    def quote(self, sell_currency: str, buy, *, now: datetime | None = None):
        return self.run(lambda c: service.create_quote(
            c, sell_currency=sell_currency, buy=buy, settings=self.settings, now=now or self.now))


@pytest.fixture
def fx_settings() -> Settings:
    return Settings(env="test", fx_spread_bps=150, fx_quote_validity_s=60, fx_rate_age_max_days=4)


@pytest.fixture
def fx(engine, fx_settings) -> FxDay:
    return FxDay(engine, _FIRST_DAY + timedelta(days=_DAYS_APART * next(_DAYS)), fx_settings)
