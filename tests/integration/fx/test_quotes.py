"""Quotes: priced from today's rates plus the spread, valid briefly, locked by one payment."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from amanah.core.db import create_engine, run_in_transaction
from amanah.core.errors import InvalidRequest
from amanah.fx import service
from amanah.fx.errors import (
    QuoteExpired, QuoteNotFound, QuoteUsed, RateStale, RateUnavailable, SameCurrency,
)
from amanah.fx.models import quotes
from amanah.fx.types import QuoteStatus
from amanah.money import JPY, KRW, RUB, USD, InvalidAmount, Money, UnsupportedCurrency


class TestAskingForAQuote:
    def test_the_buyer_sees_what_they_will_be_charged_before_paying(self, fx):
        fx.store(("USD", "RUB", "92.5"), source="manual")
        quote = fx.quote("RUB", Money(2599, USD))
        assert quote.id.startswith("qt_")
        assert quote.buy == Money(2599, USD)
        assert (quote.rate, quote.mid_rate, quote.spread_bps) == (Decimal("93.8875"), Decimal("92.5"), 150)
        assert quote.sell == Money(244014, RUB) and quote.spread == Money(3606, RUB)
        assert quote.rates_as_of == fx.day
        assert quote.expires_at - quote.created_at == timedelta(seconds=60)
        assert quote.status(fx.now) is QuoteStatus.OPEN

    def test_it_is_stored_exactly_as_given(self, fx):
        fx.store(("EUR", "USD", "1.0921"), ("EUR", "JPY", "158.08"), source="ecb")
        quote = fx.quote("JPY", Money(1999, USD))
        assert fx.run(lambda c: service.get_quote(c, quote.id)) == quote

    def test_won_and_yen_are_whole_numbers(self, fx):
        fx.store(("EUR", "JPY", "160"), ("EUR", "KRW", "1450"))
        quote = fx.quote("KRW", Money(1000, JPY))
        assert quote.sell.currency is KRW and quote.sell.amount_minor == 9199  # 1000 × 9.0625 × 1.015 = 9198.4 → up

    def test_a_stale_rate_is_refused_rather_than_used(self, fx):
        fx.store(("USD", "UAH", "41"), days_ago=5)
        with pytest.raises(RateStale, match="older than the 4 days"):
            fx.quote("UAH", Money(100, USD))

    def test_a_rate_four_days_old_is_still_used(self, fx):
        fx.store(("USD", "UAH", "41"), days_ago=4)
        assert fx.quote("UAH", Money(100, USD)).rates_as_of == fx.day - timedelta(days=4)

    def test_a_rate_dated_after_the_quote_is_not_used(self, fx):
        fx.store(("USD", "TRY", "30"), days_ago=1)
        fx.store(("USD", "TRY", "31"))
        quote = fx.quote("TRY", Money(100, USD), now=fx.now - timedelta(days=1))
        assert quote.mid_rate == Decimal("30")

    def test_no_rate_at_all_is_refused(self, fresh_database_url, fx, fx_settings):
        engine = create_engine(fresh_database_url)
        with pytest.raises(RateUnavailable, match="no exchange rate between USD and KZT"):
            run_in_transaction(engine, lambda c: service.create_quote(
                c, sell_currency="KZT", buy=Money(100, USD), settings=fx_settings, now=fx.now))
        engine.dispose()

    def test_buying_a_currency_with_itself_is_refused(self, fx):
        with pytest.raises(SameCurrency):
            fx.quote("USD", Money(100, USD))

    def test_an_unsupported_currency_is_refused_naming_the_field(self, fx):
        with pytest.raises(UnsupportedCurrency) as error:
            fx.quote("XBT", Money(100, USD))
        assert error.value.param == "sell_currency"

    @pytest.mark.parametrize("amount", [0, -100])
    def test_nothing_or_less_cannot_be_bought(self, fx, amount):
        with pytest.raises(InvalidAmount):
            fx.quote("RUB", Money(amount, USD))


class TestLockingAQuoteForAPayment:
    @pytest.fixture
    def quote(self, fx):
        fx.store(("USD", "RUB", "90"))
        return fx.quote("RUB", Money(1000, USD))

    def test_the_quote_is_marked_used_by_the_payment(self, fx, quote):
        locked = fx.run(lambda c: service.lock_quote(c, quote.id, used_by="trd_1", now=fx.now))
        assert (locked.used_by, locked.used_at, locked.status(fx.now)) == ("trd_1", fx.now, QuoteStatus.USED)
        assert (locked.sell, locked.buy, locked.rate) == (quote.sell, quote.buy, quote.rate)

    def test_a_used_quote_is_refused(self, fx, quote):
        fx.run(lambda c: service.lock_quote(c, quote.id, used_by="trd_1", now=fx.now))
        with pytest.raises(QuoteUsed, match="already used") as error:
            fx.run(lambda c: service.lock_quote(c, quote.id, used_by="trd_2", now=fx.now))
        assert (error.value.code, error.value.http_status) == ("quote_used", 409)

    def test_an_expired_quote_is_refused(self, fx, quote):
        later = quote.expires_at
        with pytest.raises(QuoteExpired, match="expired at") as error:
            fx.run(lambda c: service.lock_quote(c, quote.id, used_by="trd_1", now=later))
        assert (error.value.code, error.value.http_status) == ("quote_expired", 409)

    def test_a_quote_may_be_locked_until_its_last_microsecond(self, fx, quote):
        last = quote.expires_at - timedelta(microseconds=1)
        assert fx.run(lambda c: service.lock_quote(c, quote.id, used_by="trd_1", now=last)).used_at == last

    def test_a_lock_rolls_back_with_a_failed_payment(self, fx, quote):
        def pay_and_fail(connection):
            service.lock_quote(connection, quote.id, used_by="trd_1", now=fx.now)
            raise InvalidRequest("the payment failed")

        with pytest.raises(InvalidRequest):
            fx.run(pay_and_fail)
        assert fx.run(lambda c: service.get_quote(c, quote.id)).used_at is None

    def test_a_quote_for_another_sum_is_refused(self, fx, quote):
        with pytest.raises(InvalidRequest, match="buys 10.00 USD, not 12.00 USD") as error:
            fx.run(lambda c: service.lock_quote(c, quote.id, used_by="trd_1", now=fx.now, buy=Money(1200, USD)))
        assert error.value.code == "quote_mismatch"

    @pytest.mark.parametrize("quote_id", ["qt_01JD8Z5M6X0E4H1S8W3Q2C9N7K", "nope", "trd_01JD8Z5M6X0E4H1S8W3Q2C9N7K"])
    def test_an_unknown_quote_is_not_found(self, fx, quote_id):
        with pytest.raises(QuoteNotFound):
            fx.run(lambda c: service.lock_quote(c, quote_id, used_by="trd_1", now=fx.now))


class TestForgettingExpiredQuotes:
    def test_unused_quotes_go_a_day_after_expiry_and_used_ones_stay(self, fx):
        fx.store(("USD", "INR", "83"))
        unused, used = fx.quote("INR", Money(500, USD)), fx.quote("INR", Money(700, USD))
        fx.run(lambda c: service.lock_quote(c, used.id, used_by="wdr_1", now=fx.now))
        fx.run(lambda c: service.purge_expired_quotes(c, now=fx.now + timedelta(days=1, seconds=61)))
        left = fx.run(lambda c: set(c.execute(sa.select(quotes.c.id).where(quotes.c.id.in_([unused.id, used.id]))).scalars()))
        assert left == {used.id}


@pytest.mark.postgres_only
class TestTwoPaymentsRacingForOneQuote:
    def test_exactly_one_locks_it(self, fx, engine):
        import threading

        fx.store(("USD", "BRL", "5"))
        quote = fx.quote("BRL", Money(100, USD))
        barrier, outcomes = threading.Barrier(8), []

        def attempt(number: int) -> None:
            barrier.wait()
            try:
                fx.run(lambda c: service.lock_quote(c, quote.id, used_by=f"trd_{number}", now=fx.now))
                outcomes.append("locked")
            except QuoteUsed:
                outcomes.append("used")

        threads = [threading.Thread(target=attempt, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes) == ["locked"] + ["used"] * 7
