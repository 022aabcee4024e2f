"""Storing rates (files, by hand, the sample) and reading them back, on both databases."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from amanah.core.db import create_engine, run_in_transaction
from amanah.fx import service
from amanah.fx.errors import InvalidRate, InvalidRatesFile
from amanah.fx.models import rates
from amanah.money import UnsupportedCurrency

from .conftest import FxDay
from ...unit.fx.ecb_fixtures import ECB_DAILY, ECB_HISTORICAL


def stored(fx: FxDay, base: str, quote: str, day: date):
    query = sa.select(rates.c.rate, rates.c.source).where(
        rates.c.base == base, rates.c.quote == quote, rates.c.as_of == day)
    return fx.run(lambda c: c.execute(query).one_or_none())


class TestImportingAnEcbFile:
    def test_the_rates_are_stored_with_their_day_and_source(self, fx):
        report = fx.run(lambda c: service.import_rates_file(c, ECB_HISTORICAL, now=fx.now))
        assert (report.format, report.stored) == ("ecb", 6)
        assert (report.first_day, report.last_day) == (date(2022, 2, 28), date(2024, 1, 5))
        assert report.skipped_currencies == ["HRK"]
        assert tuple(stored(fx, "EUR", "USD", date(2024, 1, 4))) == (Decimal("1.0953"), "ecb")

    def test_importing_the_same_file_again_changes_nothing(self, fx):
        for _ in range(2):
            fx.run(lambda c: service.import_rates_file(c, ECB_DAILY, now=fx.now))
        count = sa.select(sa.func.count()).select_from(rates).where(
            rates.c.as_of == date(2024, 1, 5), rates.c.base == "EUR", rates.c.quote == "KRW")
        assert fx.run(lambda c: c.execute(count).scalar_one()) == 1

    def test_a_rate_dated_in_the_future_refuses_the_whole_file(self, fx):
        later = (fx.day + timedelta(days=2)).isoformat()
        data = f"date,base,quote,rate\n{fx.day},USD,RUB,90\n{later},USD,RUB,91\n".encode()
        with pytest.raises(InvalidRate, match="in the future"):
            fx.run(lambda c: service.import_rates_file(c, data, now=fx.now))
        assert stored(fx, "USD", "RUB", fx.day) is None

    def test_a_bad_file_stores_nothing(self, fx):
        data = f"date,base,quote,rate\n{fx.day},USD,UAH,41\n{fx.day},USD,KZT,minus\n".encode()
        with pytest.raises(InvalidRatesFile, match="Line 3"):
            fx.run(lambda c: service.import_rates_file(c, data, now=fx.now))
        assert stored(fx, "USD", "UAH", fx.day) is None


class TestSettingARateByHand:
    def test_the_rate_is_stored_as_manual_for_today(self, fx):
        rate = fx.run(lambda c: service.set_rate(c, "usd", "RUB", "92.51", now=fx.now))
        assert (rate.base.code, rate.quote.code, rate.rate, rate.as_of) == ("USD", "RUB", Decimal("92.51"), fx.day)
        assert tuple(stored(fx, "USD", "RUB", fx.day)) == (Decimal("92.51"), "manual")

    def test_setting_it_again_the_same_day_replaces_it(self, fx):
        fx.run(lambda c: service.set_rate(c, "EUR", "UAH", "44", now=fx.now))
        fx.run(lambda c: service.set_rate(c, "EUR", "UAH", "44.5", now=fx.now))
        assert stored(fx, "EUR", "UAH", fx.day).rate == Decimal("44.5")

    def test_a_past_day_can_be_given(self, fx):
        earlier = fx.day - timedelta(days=7)
        fx.run(lambda c: service.set_rate(c, "EUR", "KZT", "510", now=fx.now, as_of=earlier))
        assert stored(fx, "EUR", "KZT", earlier).rate == Decimal("510")

    @pytest.mark.parametrize(("base", "quote", "rate", "error"), [
        ("USD", "USD", "1", InvalidRate), ("USD", "XYZ", "1", UnsupportedCurrency), ("USD", "RUB", "-3", InvalidRate),
    ])
    def test_nonsense_is_refused(self, fx, base, quote, rate, error):
        with pytest.raises(error):
            fx.run(lambda c: service.set_rate(c, base, quote, rate, now=fx.now))


class TestTheSampleRates:
    def test_they_cover_every_currency_dated_today_and_are_marked_sample(self, fx):
        count = fx.run(lambda c: service.load_sample_rates(c, now=fx.now))
        view = fx.run(lambda c: service.rates_for(c, "USD", on=fx.day, age_max_days=4))
        assert count == 13 and len(view.rates) == 13 and view.as_of == fx.day
        assert {source for rate in view.rates.values() for source in rate.sources} == {"sample"}

    def test_they_never_replace_a_rate_already_stored_for_the_day(self, fx):
        fx.store(("EUR", "USD", "1.1111"), source="ecb")
        fx.run(lambda c: service.load_sample_rates(c, now=fx.now))
        assert tuple(stored(fx, "EUR", "USD", fx.day)) == (Decimal("1.1111"), "ecb")

    def test_the_file_says_it_is_sample_data(self):
        from importlib import resources

        text = resources.files("amanah.fx").joinpath("sample_rates.csv").read_text()
        assert text.startswith("# SAMPLE DATA - NOT REAL EXCHANGE RATES.")


class TestTodaysRates:
    def test_every_currency_is_priced_in_the_base_through_the_stored_one(self, fx):
        fx.store(("EUR", "USD", "1.25"), ("EUR", "JPY", "160"), ("USD", "RUB", "90"))
        view = fx.run(lambda c: service.rates_for(c, "USD", on=fx.day, age_max_days=4))
        assert view.rates["EUR"].rate == Decimal("0.8")
        assert view.rates["JPY"].rate == 128
        assert view.rates["RUB"].rate == 90

    def test_a_stale_rate_is_still_shown_with_its_own_date(self, fx):
        fx.store(("USD", "KZT", "470"), days_ago=10)
        view = fx.run(lambda c: service.rates_for(c, "USD", on=fx.day, age_max_days=4))
        assert view.rates["KZT"].as_of == fx.day - timedelta(days=10)
        assert view.as_of <= fx.day - timedelta(days=10)

    def test_a_past_day_shows_the_rates_of_that_day(self, fx):
        fx.store(("EUR", "USD", "1.2"), days_ago=1)
        fx.store(("EUR", "USD", "1.3"))
        view = fx.run(lambda c: service.rates_for(c, "EUR", on=fx.day - timedelta(days=1), age_max_days=4))
        assert view.rates["USD"].rate == Decimal("1.2")

    def test_with_no_rates_at_all_the_list_is_empty(self, fresh_database_url, fx):
        engine = create_engine(fresh_database_url)
        view = run_in_transaction(engine, lambda c: service.rates_for(c, "USD", on=fx.day, age_max_days=4))
        engine.dispose()
        assert view.rates == {} and view.as_of is None
