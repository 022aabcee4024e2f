"""Money: making sums, arithmetic, fees, conversion, splitting, and text for people and the API."""

from __future__ import annotations

import dataclasses
import decimal
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amanah.core.errors import InvalidRequest
from amanah.core.limits import AMOUNT_MAX_MINOR
from amanah.money import (
    CURRENCIES,
    EUR,
    IDR,
    JPY,
    KRW,
    RUB,
    USD,
    Currency,
    CurrencyMismatch,
    InvalidAmount,
    Money,
    Rounding,
)

CABINET_LOCALES = ["en", "ru", "id", "ja", "de", "tr"]
NBSP = "\xa0"

currencies = st.sampled_from(list(CURRENCIES.values()))
roundings = st.sampled_from(list(Rounding))
amounts = st.integers(min_value=-AMOUNT_MAX_MINOR, max_value=AMOUNT_MAX_MINOR)
ratio_lists = st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=12)
positive_ratios = ratio_lists.filter(any)
rates = st.decimals(min_value=Decimal("0.000001"), max_value=Decimal("100000"), places=6)


def exactly(value: Decimal, rounding: Rounding) -> int:
    """The reference: ``value`` rounded to an integer by ``decimal`` with room for every digit."""
    with decimal.localcontext(prec=200):
        return int(value.quantize(Decimal(1), rounding=rounding.value))


class TestMakingASum:
    def test_a_sum_is_whole_minor_units_of_one_currency(self):
        price = Money(2599, USD)
        assert price.amount_minor == 2599
        assert price.currency is USD

    def test_a_sum_may_be_negative_for_a_line_of_history(self):
        assert Money(-500, EUR).is_negative

    def test_zero_is_a_sum_of_nothing(self):
        assert Money.zero(JPY) == Money(0, JPY)
        assert Money.zero("rub").is_zero

    @pytest.mark.parametrize("amount", [True, False, 19.99, 1999.0, Decimal("1999"), "1999", None])
    def test_an_amount_that_is_not_an_int_is_a_programming_error(self, amount):
        with pytest.raises(TypeError):
            Money(amount, USD)  # type: ignore[arg-type]

    def test_the_currency_must_be_a_currency_not_its_code(self):
        with pytest.raises(TypeError):
            Money(1999, "USD")  # type: ignore[arg-type]

    def test_a_sum_cannot_be_changed(self):
        price = Money(1999, USD)
        with pytest.raises(dataclasses.FrozenInstanceError):
            price.amount_minor = 1  # type: ignore[misc]

    def test_equal_sums_are_interchangeable_as_keys(self):
        assert {Money(1, USD): "a"}[Money(1, USD)] == "a"

    def test_sign_helpers_say_what_they_mean(self):
        assert Money(1, USD).is_positive and not Money(1, USD).is_negative
        assert Money(0, USD).is_zero and not Money(0, USD).is_positive


class TestMajorUnits:
    @pytest.mark.parametrize(
        ("value", "found", "minor"),
        [
            (Decimal("19.99"), USD, 1999),
            ("19.99", USD, 1999),
            (19, USD, 1900),
            ("1999", JPY, 1999),
            (Decimal("-0.05"), EUR, -5),
            (Decimal("19.990"), USD, 1999),
            (Decimal("1E+3"), KRW, 1000),
            (" 7.5 ", IDR, 750),
        ],
    )
    def test_a_major_unit_amount_becomes_minor_units(self, value, found, minor):
        assert Money.of_major(value, found) == Money(minor, found)

    def test_the_currency_may_be_given_by_code(self):
        assert Money.of_major("1.00", "eur") == Money(100, EUR)

    @pytest.mark.parametrize(
        ("value", "found"), [(Decimal("19.999"), USD), ("0.5", JPY), ("1.01", KRW)]
    )
    def test_extra_decimals_are_refused_rather_than_silently_rounded(self, value, found):
        with pytest.raises(InvalidAmount) as raised:
            Money.of_major(value, found)
        assert raised.value.code == "invalid_amount"
        assert found.code in raised.value.message

    def test_extra_decimals_are_rounded_only_when_the_rounding_is_named(self):
        assert Money.of_major("19.999", USD, rounding=Rounding.DOWN) == Money(1999, USD)
        assert Money.of_major("19.991", USD, rounding=Rounding.UP) == Money(2000, USD)
        assert Money.of_major("2.5", JPY, rounding=Rounding.HALF_EVEN) == Money(2, JPY)

    def test_a_rounding_is_a_rounding_not_a_decimal_constant(self):
        with pytest.raises(TypeError):
            Money.of_major("19.999", USD, rounding=decimal.ROUND_DOWN)  # type: ignore[arg-type]

    def test_a_vanishingly_small_value_rounds_without_ruining_the_machine(self):
        assert Money.of_major(Decimal("1e-999999"), USD, rounding=Rounding.UP) == Money(1, USD)

    @pytest.mark.parametrize("value", [19.99, True, None, b"19.99"])
    def test_a_float_or_other_type_is_a_programming_error(self, value):
        with pytest.raises(TypeError):
            Money.of_major(value, USD)  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        "value",
        [Decimal("NaN"), Decimal("Infinity"), "NaN", "1e5", "1_000", "19.99.1", "", "$5"]
        + ["1" * 100],
    )
    def test_something_that_is_not_a_plain_number_is_an_invalid_amount(self, value):
        with pytest.raises(InvalidAmount):
            Money.of_major(value, USD)

    def test_an_amount_beyond_the_limit_is_refused(self):
        largest = Money(AMOUNT_MAX_MINOR, USD).to_decimal()
        assert Money.of_major(largest, USD).amount_minor == AMOUNT_MAX_MINOR
        with pytest.raises(InvalidAmount, match="too large"):
            Money.of_major(largest + Decimal("0.01"), USD)
        with pytest.raises(InvalidAmount, match="too large"):
            Money.of_major(Decimal("1e999999999"), USD)

    def test_to_decimal_has_exactly_the_currencys_places(self):
        assert str(Money(1999, USD).to_decimal()) == "19.99"
        assert str(Money(5, EUR).to_decimal()) == "0.05"
        assert str(Money(0, USD).to_decimal()) == "0.00"
        assert str(Money(1999, JPY).to_decimal()) == "1999"

    def test_to_decimal_is_exact_for_any_size(self):
        huge = 10**60 + 1
        assert Money(huge, USD).to_decimal().scaleb(2, context=decimal.Context(prec=100)) == huge

    @given(amounts, currencies)
    def test_major_units_round_trip(self, amount, found):
        money = Money(amount, found)
        assert Money.of_major(money.to_decimal(), found) == money
        assert money.to_decimal().as_tuple().exponent == -found.exponent


class TestAddingAndComparing:
    def test_sums_add_and_subtract_in_minor_units(self):
        assert Money(1999, USD) + Money(1, USD) == Money(2000, USD)
        assert Money(1999, USD) - Money(2000, USD) == Money(-1, USD)

    def test_negation_and_absolute_value(self):
        assert -Money(5, EUR) == Money(-5, EUR)
        assert abs(Money(-5, EUR)) == Money(5, EUR)

    def test_sums_are_ordered_within_a_currency(self):
        small, large = Money(1, USD), Money(2, USD)
        assert small < large and small <= large and large > small and large >= small
        assert small <= Money(1, USD) and small >= Money(1, USD)
        assert max(small, large) is large

    @pytest.mark.parametrize(
        "operation",
        [
            lambda a, b: a + b,
            lambda a, b: a - b,
            lambda a, b: a < b,
            lambda a, b: a <= b,
            lambda a, b: a > b,
            lambda a, b: a >= b,
        ],
    )
    def test_different_currencies_never_mix(self, operation):
        with pytest.raises(CurrencyMismatch) as raised:
            operation(Money(100, USD), Money(100, EUR))
        assert isinstance(raised.value, InvalidRequest)
        assert raised.value.code == "currency_mismatch"
        assert "USD" in raised.value.message and "EUR" in raised.value.message

    def test_sums_in_different_currencies_are_simply_not_equal(self):
        assert Money(100, USD) != Money(100, EUR)

    def test_a_sum_times_a_whole_number_is_a_sum(self):
        assert Money(250, USD) * 3 == Money(750, USD)
        assert 3 * Money(250, USD) == Money(750, USD)
        assert Money(250, USD) * -1 == Money(-250, USD)

    @pytest.mark.parametrize("factor", [1.5, Decimal("1.5"), True, "2"])
    def test_a_sum_is_never_multiplied_by_a_fraction_or_a_flag(self, factor):
        with pytest.raises(TypeError):
            Money(250, USD) * factor
        with pytest.raises(TypeError):
            factor * Money(250, USD)

    @pytest.mark.parametrize("other", [1, Decimal("1"), 1.0, None])
    def test_a_bare_number_is_not_a_sum(self, other):
        with pytest.raises(TypeError):
            Money(1, USD) + other
        with pytest.raises(TypeError):
            Money(1, USD) < other

    @given(amounts, amounts, amounts, currencies)
    def test_addition_is_the_addition_of_minor_units(self, a, b, c, found):
        x, y, z = Money(a, found), Money(b, found), Money(c, found)
        assert (x + y) + z == x + (y + z)
        assert x + y == y + x
        assert x - x == Money.zero(found)
        assert (x < y) == (a < b)


class TestPlatformFee:
    def test_a_fee_rounded_down_favours_the_seller(self):
        price = Money(2599, USD)  # 2.5% of $25.99 is 64.975 cents
        assert price.percent_bps(250, rounding=Rounding.DOWN) == Money(64, USD)

    def test_a_fee_rounded_up_favours_the_platform(self):
        assert Money(2599, USD).percent_bps(250, rounding=Rounding.UP) == Money(65, USD)

    def test_a_fee_on_yen_is_whole_yen(self):
        assert Money(2599, JPY).percent_bps(250, rounding=Rounding.DOWN) == Money(64, JPY)

    def test_no_fee_and_the_whole_sum_are_the_ends_of_the_range(self):
        price = Money(2599, USD)
        assert price.percent_bps(0, rounding=Rounding.UP) == Money(0, USD)
        assert price.percent_bps(10_000, rounding=Rounding.DOWN) == price

    def test_the_rounding_must_be_named(self):
        with pytest.raises(TypeError):
            Money(2599, USD).percent_bps(250)  # type: ignore[call-arg]

    def test_the_rounding_is_a_rounding_not_a_decimal_constant(self):
        with pytest.raises(TypeError):
            Money(2599, USD).percent_bps(250, rounding=decimal.ROUND_DOWN)  # type: ignore[arg-type]

    @pytest.mark.parametrize("bps", [2.5, Decimal("250"), True])
    def test_basis_points_are_a_whole_number(self, bps):
        with pytest.raises(TypeError):
            Money(2599, USD).percent_bps(bps, rounding=Rounding.DOWN)

    @pytest.mark.parametrize("bps", [-1, 10_001])
    def test_a_percentage_outside_zero_to_a_hundred_is_a_programming_error(self, bps):
        with pytest.raises(AssertionError):
            Money(2599, USD).percent_bps(bps, rounding=Rounding.DOWN)

    @given(amounts, st.integers(min_value=0, max_value=10_000), currencies)
    def test_down_never_exceeds_the_exact_fee_and_up_never_falls_short(self, amount, bps, found):
        exact = Decimal(amount) * bps / 10_000
        down = Money(amount, found).percent_bps(bps, rounding=Rounding.DOWN).amount_minor
        up = Money(amount, found).percent_bps(bps, rounding=Rounding.UP).amount_minor
        assert abs(down) <= abs(exact) <= abs(up)
        assert abs(up - down) <= 1

    @given(st.integers(min_value=0, max_value=AMOUNT_MAX_MINOR), st.integers(0, 10_000), currencies)
    def test_fee_and_payout_add_up_to_the_price(self, amount, bps, found):
        price = Money(amount, found)
        fee = price.percent_bps(bps, rounding=Rounding.DOWN)
        payout = price - fee
        assert fee + payout == price
        assert Money.zero(found) <= fee <= price


class TestRoundingModes:
    # Amounts of tenths, at 10% (1000 bps): 25 → 2.5, -17 → -1.7, and so on.
    @pytest.mark.parametrize(
        ("rounding", "expected"),
        [
            (Rounding.DOWN, [2, 1, 1, -2, -1, -1]),
            (Rounding.UP, [3, 2, 2, -3, -2, -2]),
            (Rounding.FLOOR, [2, 1, 1, -3, -2, -2]),
            (Rounding.CEILING, [3, 2, 2, -2, -1, -1]),
            (Rounding.HALF_EVEN, [2, 2, 1, -2, -2, -1]),
            (Rounding.HALF_UP, [3, 2, 1, -3, -2, -1]),
        ],
    )
    def test_each_mode_rounds_as_its_docstring_says(self, rounding, expected):
        tenths = [25, 17, 12, -25, -17, -12]
        got = [Money(t, USD).percent_bps(1000, rounding=rounding).amount_minor for t in tenths]
        assert got == expected

    def test_each_mode_is_the_matching_decimal_constant(self):
        assert Rounding.DOWN.value == decimal.ROUND_DOWN
        assert Rounding.HALF_EVEN.value == decimal.ROUND_HALF_EVEN

    @given(amounts, st.integers(0, 10_000), roundings)
    def test_integer_rounding_agrees_with_decimal(self, amount, bps, rounding):
        exact = Decimal(amount) * bps / 10_000
        fee = Money(amount, USD).percent_bps(bps, rounding=rounding)
        assert fee.amount_minor == exactly(exact, rounding)


class TestCurrencyConversion:
    def test_dollars_become_roubles_at_the_rate(self):
        roubles = Money(1000, USD).convert(Decimal("92.51"), RUB, rounding=Rounding.HALF_EVEN)
        assert roubles == Money(92510, RUB)

    def test_cents_become_whole_yen(self):
        # $10.00 at 149.35 is ¥1,493.5
        ten_dollars, rate = Money(1000, USD), Decimal("149.35")
        assert ten_dollars.convert(rate, JPY, rounding=Rounding.DOWN) == Money(1493, JPY)
        assert ten_dollars.convert(rate, JPY, rounding=Rounding.UP) == Money(1494, JPY)

    def test_yen_become_cents(self):
        # ¥1,999 at 0.0067 is $13.3933
        dollars = Money(1999, JPY).convert(Decimal("0.0067"), USD, rounding=Rounding.HALF_UP)
        assert dollars == Money(1339, USD)

    def test_the_target_may_be_given_by_code(self):
        dollars = Money(100, EUR).convert(Decimal("1"), "usd", rounding=Rounding.DOWN)
        assert dollars == Money(100, USD)

    def test_the_rounding_must_be_named(self):
        with pytest.raises(TypeError):
            Money(1000, USD).convert(Decimal("92.51"), RUB)  # type: ignore[call-arg]

    @pytest.mark.parametrize("rate", [92.51, 92, "92.51"])
    def test_a_rate_is_always_a_decimal(self, rate):
        with pytest.raises(TypeError):
            Money(1000, USD).convert(rate, RUB, rounding=Rounding.DOWN)  # type: ignore[arg-type]

    @pytest.mark.parametrize("rate", [Decimal(0), Decimal(-1), Decimal("NaN"), Decimal("Infinity")])
    def test_a_rate_that_is_not_a_positive_number_is_a_programming_error(self, rate):
        with pytest.raises(AssertionError):
            Money(1000, USD).convert(rate, RUB, rounding=Rounding.DOWN)

    @given(amounts, rates, currencies, currencies, roundings)
    def test_conversion_is_the_exact_product_rounded_as_named(
        self, amount, rate, source, target, rounding
    ):
        with decimal.localcontext(prec=200):  # the reference product must not round
            exact = Money(amount, source).to_decimal() * rate
            expected = exactly(exact.scaleb(target.exponent), rounding)
        converted = Money(amount, source).convert(rate, target, rounding=rounding)
        assert converted == Money(expected, target)


class TestSplittingASum:
    def test_a_dollar_split_three_ways_loses_no_cent(self):
        parts = Money(100, USD).allocate([1, 1, 1])
        assert parts == [Money(34, USD), Money(33, USD), Money(33, USD)]

    def test_a_split_follows_the_ratios(self):
        # A $10.00 refund split 70/30 between the buyer's card and wallet balance.
        assert Money(1000, USD).allocate([70, 30]) == [Money(700, USD), Money(300, USD)]

    def test_the_leftover_goes_to_the_largest_remainder_first(self):
        # Exact shares 1.5, 3.333…, 0.1666…: the 0.5 remainder beats 0.333 and 0.1666.
        assert Money(5, USD).allocate([9, 20, 1]) == [Money(2, USD), Money(3, USD), Money(0, USD)]

    def test_a_zero_ratio_gets_nothing(self):
        parts = Money(101, USD).allocate([1, 0, 1])
        assert parts == [Money(51, USD), Money(0, USD), Money(50, USD)]

    def test_a_negative_sum_splits_like_its_mirror_image(self):
        parts = Money(-100, USD).allocate([1, 1, 1])
        assert parts == [Money(-34, USD), Money(-33, USD), Money(-33, USD)]

    @pytest.mark.parametrize("ratios", [[1.5, 1], [True, 1], [Decimal(1)]])
    def test_ratios_are_whole_numbers(self, ratios):
        with pytest.raises(TypeError):
            Money(100, USD).allocate(ratios)

    @pytest.mark.parametrize("ratios", [[], [0, 0], [1, -1]])
    def test_no_parts_or_no_positive_ratio_is_a_programming_error(self, ratios):
        with pytest.raises(AssertionError):
            Money(100, USD).allocate(ratios)

    @given(amounts, positive_ratios, currencies)
    def test_the_parts_always_add_up_to_the_whole(self, amount, ratios, found):
        parts = Money(amount, found).allocate(ratios)
        assert len(parts) == len(ratios)
        assert sum(parts, Money.zero(found)) == Money(amount, found)

    @given(amounts, positive_ratios)
    def test_each_part_is_within_one_minor_unit_of_its_exact_share(self, amount, ratios):
        parts = Money(amount, USD).allocate(ratios)
        for part, ratio in zip(parts, ratios, strict=True):
            exact_share = Decimal(amount) * ratio / sum(ratios)
            assert abs(part.amount_minor - exact_share) < 1
            if ratio == 0:
                assert part.is_zero


class TestShowingASum:
    @pytest.mark.parametrize(
        ("money", "locale", "shown"),
        [
            (Money(1999, USD), "en", "$19.99"),
            (Money(-1999, USD), "en", "-$19.99"),
            (Money(1999, JPY), "ja", "￥1,999"),
            (Money(1999, JPY), "en", "¥1,999"),
            (Money(123456, RUB), "ru", f"1{NBSP}234,56{NBSP}₽"),
            (Money(123456, EUR), "de", f"1.234,56{NBSP}€"),
            (Money(1999, KRW), "en", "₩1,999"),
            (Money(199900, IDR), "id", "Rp1.999,00"),
            (Money(5, USD), "en", "$0.05"),
            (Money(199, EUR), "en-GB", "€1.99"),
        ],
    )
    def test_a_sum_is_shown_the_readers_way_with_the_currencys_decimals(self, money, locale, shown):
        assert money.format(locale) == shown

    def test_english_is_the_default(self):
        assert Money(1999, USD).format() == "$19.99"

    def test_an_enormous_sum_is_still_shown_in_full(self):
        assert Money(10**40, USD).format() == "$" + "{:,}".format(10**38) + ".00"

    @pytest.mark.parametrize("locale", CABINET_LOCALES)
    def test_every_currency_shows_exactly_its_exponent_digits(self, locale):
        for found in CURRENCIES.values():
            shown = Money(123456, found).format(locale)
            # No digit added (¥1,234.56 shown as 123456.00) and none dropped (rounded away).
            assert "".join(char for char in shown if char.isdigit()) == "123456", shown


class TestReadingATypedAmount:
    @pytest.mark.parametrize(
        ("text", "found", "locale", "minor"),
        [
            ("19.99", USD, "en", 1999),
            ("$19.99", USD, "en", 1999),
            ("$ 1,234.50", USD, "en", 123450),
            ("-$19.99", USD, "en", -1999),
            ("$-19.99", USD, "en", -1999),
            ("19.99 USD", USD, "en", 1999),
            ("1999", JPY, "ja", 1999),
            ("￥1,999", JPY, "ja", 1999),
            ("１，９９９", JPY, "ja", 1999),  # full-width, as a Japanese input method types it
            ("1 234,56 ₽", RUB, "ru", 123456),  # an ordinary space where ru prints a no-break one
            (f"1{NBSP}234,56", RUB, "ru", 123456),
            ("19.99", RUB, "ru", 1999),  # ru has no dot in numbers, so it is the decimal point
            ("1.234,56 €", EUR, "de", 123456),
            ("Rp1.999,00", IDR, "id", 199900),
            ("−5", USD, "en", -500),  # U+2212 MINUS SIGN
            ("19.990", USD, "en", 1999),
        ],
    )
    def test_an_amount_typed_the_readers_way_is_understood(self, text, found, locale, minor):
        assert Money.parse(text, found, locale) == Money(minor, found)

    def test_the_currency_may_be_given_by_code(self):
        assert Money.parse("5", "eur") == Money(500, EUR)

    @pytest.mark.parametrize(
        ("text", "found", "locale"),
        [("19.999", USD, "en"), ("1.5", JPY, "en"), ("1,999.5", KRW, "en"), ("0,001", EUR, "de")],
    )
    def test_too_many_decimals_are_refused_never_rounded(self, text, found, locale):
        with pytest.raises(InvalidAmount) as raised:
            Money.parse(text, found, locale)
        assert raised.value.code == "invalid_amount"
        assert raised.value.param == "amount"

    @pytest.mark.parametrize(
        "text",
        ["", "   ", "abc", "NaN", "Infinity", "1e5", "--5", "5-", "$$5", "€5", "0x10", "1_000"]
        + ["١٢٣", "½"],  # Arabic-Indic digits and a vulgar fraction: digits, but not ours
    )
    def test_something_that_is_not_an_amount_is_refused_with_an_example(self, text):
        with pytest.raises(InvalidAmount) as raised:
            Money.parse(text, USD)
        assert "$19.99" in raised.value.message

    def test_misplaced_grouping_is_refused_with_suggestions(self):
        with pytest.raises(InvalidAmount) as raised:
            Money.parse("19,99", USD, "en")
        assert "Did you mean '1,999' or '19.99'?" in raised.value.message

    def test_the_example_is_in_the_readers_language(self):
        with pytest.raises(InvalidAmount) as raised:
            Money.parse("abc", JPY, "ja")
        assert "￥1,999" in raised.value.message

    def test_control_characters_are_not_echoed_back(self):
        with pytest.raises(InvalidAmount) as raised:
            Money.parse("1\x1b[31m", USD)
        assert "\x1b" not in raised.value.message

    def test_overlong_text_is_refused_without_being_echoed(self):
        with pytest.raises(InvalidAmount) as raised:
            Money.parse("1" * 10_000, USD)
        assert "1111" not in raised.value.message

    def test_text_must_be_text(self):
        with pytest.raises(TypeError):
            Money.parse(19.99, USD)  # type: ignore[arg-type]

    @pytest.mark.parametrize("locale", CABINET_LOCALES)
    @pytest.mark.parametrize("found", list(CURRENCIES.values()), ids=list(CURRENCIES))
    def test_what_is_shown_reads_back_for_every_currency_and_language(self, found, locale):
        for amount in (-123456789, -1, 0, 7, 100_000, AMOUNT_MAX_MINOR):
            money = Money(amount, found)
            assert Money.parse(money.format(locale), found, locale) == money

    @settings(max_examples=500)
    @given(amounts, currencies, st.sampled_from(CABINET_LOCALES))
    def test_format_and_parse_round_trip(self, amount, found, locale):
        money = Money(amount, found)
        assert Money.parse(money.format(locale), found, locale) == money

    @given(st.text(max_size=20), currencies, st.sampled_from(CABINET_LOCALES))
    def test_any_text_is_either_an_amount_or_an_invalid_amount(self, text, found, locale):
        try:
            money = Money.parse(text, found, locale)
        except InvalidAmount:
            return
        assert money.currency is found


class TestTextForms:
    def test_repr_names_the_minor_units_and_the_code(self):
        assert repr(Money(1999, USD)) == "Money(1999, USD)"

    def test_str_is_the_exact_major_amount_and_the_code(self):
        assert str(Money(1999, USD)) == "19.99 USD"
        assert str(Money(-5, EUR)) == "-0.05 EUR"
        assert str(Money(1999, JPY)) == "1999 JPY"

    def test_the_api_shape_is_an_integer_amount_and_a_code(self):
        assert Money(1999, USD).to_dict() == {"amount": 1999, "currency": "USD"}

    def test_a_made_up_currency_cannot_hold_money(self):
        with pytest.raises(AssertionError):
            Money(1, Currency("XBT", "000", 8))
