"""The table of supported currencies, looking one up, and showing its name and symbol."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from amanah.core.errors import InvalidRequest
from amanah.money import (
    AUD,
    CURRENCIES,
    IDR,
    JPY,
    KRW,
    RUB,
    USD,
    Currency,
    UnsupportedCurrency,
    currency,
)

# ISO 4217 (code, numeric, minor-unit exponent), in the order the product lists them.
ISO_4217 = [
    ("USD", "840", 2),
    ("EUR", "978", 2),
    ("GBP", "826", 2),
    ("CNY", "156", 2),
    ("RUB", "643", 2),
    ("JPY", "392", 0),
    ("KRW", "410", 0),
    ("IDR", "360", 2),
    ("INR", "356", 2),
    ("BRL", "986", 2),
    ("TRY", "949", 2),
    ("KZT", "398", 2),
    ("UAH", "980", 2),
    ("AUD", "036", 2),
]


class TestTheSupportedCurrencies:
    def test_there_are_exactly_the_fourteen_in_the_order_screens_list_them(self):
        assert list(CURRENCIES) == [code for code, _, _ in ISO_4217]

    @pytest.mark.parametrize(("code", "numeric", "exponent"), ISO_4217)
    def test_each_has_its_iso_4217_numeric_code_and_exponent(self, code, numeric, exponent):
        assert CURRENCIES[code] == Currency(code, numeric, exponent)

    def test_yen_and_won_have_no_minor_unit(self):
        assert JPY.exponent == 0
        assert KRW.exponent == 0

    def test_the_rupiah_has_two_decimals_as_iso_4217_says(self):
        assert IDR.exponent == 2

    def test_a_numeric_code_keeps_its_leading_zero(self):
        assert AUD.numeric == "036"

    def test_each_is_keyed_by_its_own_code(self):
        assert all(code == found.code for code, found in CURRENCIES.items())

    def test_a_currency_cannot_be_changed(self):
        with pytest.raises(dataclasses.FrozenInstanceError):
            USD.exponent = 3  # type: ignore[misc]


class TestLookingUpACurrency:
    def test_a_code_finds_its_currency(self):
        assert currency("USD") is USD

    @pytest.mark.parametrize("typed", ["usd", " USD ", "Usd", "\tusd\n"])
    def test_case_and_surrounding_space_do_not_matter(self, typed):
        assert currency(typed) is USD

    def test_a_currency_passes_through_unchanged(self):
        assert currency(RUB) is RUB

    @pytest.mark.parametrize("code", ["XYZ", "US", "USDD", "", "   ", "U SD", "ＵＳＤ"])
    def test_anything_else_is_refused_as_unsupported(self, code):
        with pytest.raises(UnsupportedCurrency):
            currency(code)

    @pytest.mark.parametrize("code", [None, 840, b"USD", ["USD"]])
    def test_a_value_that_is_not_text_is_refused_as_unsupported(self, code):
        with pytest.raises(UnsupportedCurrency):
            currency(code)  # type: ignore[arg-type]

    def test_the_refusal_is_a_bad_request_about_the_currency_parameter(self):
        with pytest.raises(UnsupportedCurrency) as raised:
            currency("XYZ")
        assert isinstance(raised.value, InvalidRequest)
        assert raised.value.http_status == 400
        assert raised.value.code == "unsupported_currency"
        assert raised.value.param == "currency"

    def test_the_refusal_names_what_was_sent_and_every_supported_code(self):
        with pytest.raises(UnsupportedCurrency) as raised:
            currency("xyz")
        message = raised.value.message
        assert "'xyz' is not a supported currency" in message
        assert all(code in message for code in CURRENCIES)

    def test_a_long_junk_code_is_cut_short_in_the_message(self):
        with pytest.raises(UnsupportedCurrency) as raised:
            currency("A" * 10_000)
        assert len(raised.value.message) < 200

    def test_an_equal_copy_gives_the_table_entry(self):
        assert currency(Currency("USD", "840", 2)) is USD

    @pytest.mark.parametrize("made_up", [Currency("XBT", "000", 8), Currency("USD", "840", 3)])
    def test_a_hand_made_currency_not_in_the_table_is_refused(self, made_up):
        with pytest.raises(UnsupportedCurrency):
            currency(made_up)

    @given(st.text(max_size=8))
    def test_any_text_either_finds_a_supported_currency_or_is_refused(self, text):
        try:
            found = currency(text)
        except UnsupportedCurrency:
            assert text.strip().upper() not in CURRENCIES
        else:
            assert found is CURRENCIES[text.strip().upper()]


class TestCurrencyNamesAndSymbols:
    def test_the_name_is_in_the_readers_language(self):
        assert USD.name() == "US Dollar"
        assert RUB.name("ru") == "российский рубль"

    def test_the_symbol_is_the_one_the_reader_knows(self):
        assert USD.symbol() == "$"
        assert RUB.symbol("ru") == "₽"
        assert JPY.symbol("ja") == "￥"
        assert IDR.symbol("id") == "Rp"

    def test_the_symbol_falls_back_to_the_code_where_a_locale_has_none(self):
        assert RUB.symbol("en") == "RUB"

    @pytest.mark.parametrize("locale", ["en", "ru", "id", "ja", "de", "tr"])
    def test_every_currency_has_a_name_and_symbol_in_every_cabinet_language(self, locale):
        for found in CURRENCIES.values():
            assert found.name(locale)
            assert found.symbol(locale)

    def test_as_text_a_currency_is_its_code(self):
        assert str(KRW) == "KRW"
        assert f"{AUD}" == "AUD"
