"""Cross rates and quote prices: exact arithmetic, every rounding in its declared direction."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, strategies as st

from amanah.core import limits
from amanah.fx.errors import RateStale, RateUnavailable
from amanah.fx.pricing import RateTable, plain, price, to_decimal
from amanah.fx.types import Rate
from amanah.money import CURRENCIES, EUR, GBP, IDR, JPY, KRW, RUB, USD, InvalidAmount, Money, Rounding

TODAY = date(2024, 1, 5)


def rate(base, quote, value: str, as_of: date = TODAY, source: str = "ecb") -> Rate:
    return Rate(base, quote, Decimal(value), as_of, source)


def table(*rates: Rate, age_max_days: int = 4) -> RateTable:
    return RateTable(rates, on=TODAY, age_max_days=age_max_days)


class TestCrossRates:
    def test_a_stored_pair_is_used_as_it_is(self):
        cross = table(rate(EUR, USD, "1.0921")).cross(EUR, USD)
        assert cross.rate == Fraction("1.0921") and cross.path == ("EUR", "USD")

    def test_the_inverse_of_a_stored_pair_is_exact(self):
        cross = table(rate(EUR, USD, "1.25")).cross(USD, EUR)
        assert cross.rate == Fraction(4, 5)

    def test_two_currencies_are_crossed_through_the_stored_base(self):
        cross = table(rate(EUR, USD, "1.0921"), rate(EUR, JPY, "158.08")).cross(USD, JPY)
        assert cross.rate == Fraction("158.08") / Fraction("1.0921")
        assert cross.path == ("USD", "EUR", "JPY")
        assert plain(cross.shown()) == "144.7486494"

    def test_a_manual_rate_against_another_base_chains_with_the_ecb_ones(self):
        rates = table(rate(EUR, USD, "1.08"), rate(USD, RUB, "90", source="manual"))
        cross = rates.cross(EUR, RUB)
        assert cross.rate == Fraction("97.2") and cross.sources == {"ecb", "manual"}

    def test_a_chain_is_as_old_as_its_oldest_rate(self):
        cross = table(rate(EUR, USD, "1.08"), rate(EUR, GBP, "0.85", TODAY - timedelta(days=3))).cross(USD, GBP)
        assert cross.as_of == TODAY - timedelta(days=3)

    def test_the_newest_rate_of_a_pair_wins_whichever_way_round_it_was_given(self):
        rates = table(rate(EUR, USD, "1.08", TODAY - timedelta(days=1)), rate(USD, EUR, "0.8"))
        assert rates.cross(EUR, USD).rate == Fraction(5, 4)

    def test_a_fresh_longer_chain_is_preferred_to_a_stale_direct_rate(self):
        rates = table(rate(USD, RUB, "70", TODAY - timedelta(days=30)), rate(EUR, USD, "1.08"), rate(EUR, RUB, "99"))
        cross = rates.cross(USD, RUB)
        assert cross.path == ("USD", "EUR", "RUB") and cross.as_of == TODAY

    def test_only_stale_rates_are_refused_with_their_date(self):
        with pytest.raises(RateStale, match="from 2023-12-01, older than the 4 days") as error:
            table(rate(USD, RUB, "90", date(2023, 12, 1))).cross(USD, RUB)
        assert error.value.code == "fx_rate_stale" and error.value.http_status == 409

    def test_a_rate_exactly_as_old_as_allowed_is_used(self):
        assert table(rate(USD, RUB, "90", TODAY - timedelta(days=4))).cross(USD, RUB).rate == 90

    def test_no_chain_at_all_is_refused(self):
        with pytest.raises(RateUnavailable, match="no exchange rate between USD and KRW"):
            table(rate(EUR, USD, "1.08")).cross(USD, KRW)

    def test_a_chain_longer_than_the_limit_is_not_used(self):
        codes = list(CURRENCIES.values())
        chain = [rate(codes[i], codes[i + 1], "2") for i in range(limits.FX_CROSS_RATE_HOPS_MAX + 1)]
        rates = table(*chain)
        assert rates.cross(codes[0], codes[limits.FX_CROSS_RATE_HOPS_MAX]).rate == 2 ** limits.FX_CROSS_RATE_HOPS_MAX
        with pytest.raises(RateUnavailable):
            rates.cross(codes[0], codes[limits.FX_CROSS_RATE_HOPS_MAX + 1])


class TestRoundingARate:
    def test_up_and_half_even_go_their_named_ways(self):
        third = Fraction(1, 3)
        assert to_decimal(third, digits=4, rounding=Rounding.UP) == Decimal("0.3334")
        assert to_decimal(third, digits=4, rounding=Rounding.HALF_EVEN) == Decimal("0.3333")

    def test_plain_text_has_no_exponent_and_no_trailing_zeros(self):
        assert plain(Decimal("100.000")) == "100"
        assert plain(Decimal("1E-9")) == "0.000000001"


class TestPricingAQuote:
    def test_a_worked_example_in_roubles(self):
        quoted = price(Money(2599, USD), RUB, mid=Fraction("92.5"), spread_bps=150)
        assert quoted.rate == Decimal("93.8875")  # 92.5 × 1.015
        assert quoted.sell == Money(244014, RUB)  # 25.99 × 93.8875 = 2440.136… → 2440.14 RUB (up)
        assert quoted.buy == Money(2599, USD)
        assert quoted.spread == Money(244014 - 240408, RUB)  # 25.99 × 92.5 = 2404.075 → 2404.08

    def test_yen_have_no_minor_units(self):
        quoted = price(Money(1999, USD), JPY, mid=Fraction("144.7"), spread_bps=0)
        assert quoted.sell == Money(2893, JPY)  # 19.99 × 144.7 = 2892.553 → ¥2,893 (up)

    def test_won_to_yen_rounds_up_to_a_whole_won(self):
        quoted = price(Money(1, JPY), KRW, mid=Fraction("9.0625"), spread_bps=150)
        assert quoted.sell == Money(10, KRW) and quoted.spread == Money(0, KRW)

    def test_buying_won_with_dollars_charges_at_least_a_cent(self):
        quoted = price(Money(1, KRW), USD, mid=Fraction(1, 1300), spread_bps=150)
        assert quoted.sell == Money(1, USD)

    def test_a_price_beyond_the_largest_payment_is_refused(self):
        with pytest.raises(InvalidAmount, match="more than the most one payment"):
            price(Money(limits.AMOUNT_MAX_MINOR, USD), IDR, mid=Fraction(16000), spread_bps=0)


rates = st.decimals(min_value=Decimal("0.000001"), max_value=Decimal("100000"), places=6).filter(lambda d: d > 0)
currency_pairs = st.tuples(st.sampled_from(list(CURRENCIES.values())), st.sampled_from(list(CURRENCIES.values()))).filter(
    lambda pair: pair[0] != pair[1])


class TestPricingProperties:
    @given(pair=currency_pairs, amount=st.integers(1, 10**7), mid=rates, spread_bps=st.integers(0, 1000))
    def test_the_buyer_is_charged_enough_and_less_than_one_minor_unit_more(self, pair, amount, mid, spread_bps):
        buy_currency, sell_currency = pair
        quoted = price(Money(amount, buy_currency), sell_currency, mid=Fraction(mid), spread_bps=spread_bps)
        shift = Fraction(10) ** (sell_currency.exponent - buy_currency.exponent)
        owed = amount * Fraction(mid) * Fraction(10_000 + spread_bps, 10_000) * shift
        assert owed <= quoted.sell.amount_minor  # never short: the rounding went up
        charged_at_rate = amount * Fraction(quoted.rate) * shift
        assert quoted.sell.amount_minor - 1 < charged_at_rate <= quoted.sell.amount_minor

    @given(pair=currency_pairs, amount=st.integers(1, 10**7), mid=rates, spread_bps=st.integers(0, 1000))
    def test_the_spread_is_what_the_charge_exceeds_the_mid_market_value_by(self, pair, amount, mid, spread_bps):
        buy_currency, sell_currency = pair
        quoted = price(Money(amount, buy_currency), sell_currency, mid=Fraction(mid), spread_bps=spread_bps)
        at_mid = Money(amount, buy_currency).convert(quoted.mid_rate, sell_currency, rounding=Rounding.UP)
        assert quoted.buy == Money(amount, buy_currency)  # the one paid gets exactly what was asked
        assert quoted.sell == at_mid + quoted.spread  # no minor unit created or lost
        assert 0 <= quoted.spread.amount_minor < quoted.sell.amount_minor
        assert quoted.rate >= quoted.mid_rate
