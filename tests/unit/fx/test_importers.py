"""Reading rates files: the ECB's eurofxref XML and our CSV."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from amanah.fx.errors import InvalidRate, InvalidRatesFile
from amanah.fx.importers import RateRow, parse_rate, parse_rates_file

from .ecb_fixtures import ECB_DAILY, ECB_HISTORICAL


class TestReadingTheEcbDailyFile:
    def test_every_rate_of_a_currency_we_hold_is_read_against_the_euro(self):
        parsed = parse_rates_file(ECB_DAILY)
        assert parsed.format == "ecb"
        assert RateRow(date(2024, 1, 5), "EUR", "USD", Decimal("1.0921")) in parsed.rows
        assert RateRow(date(2024, 1, 5), "EUR", "KRW", Decimal("1435.41")) in parsed.rows
        assert {row.quote for row in parsed.rows} == {
            "USD", "JPY", "GBP", "TRY", "AUD", "BRL", "CNY", "IDR", "INR", "KRW"}

    def test_the_rate_keeps_every_digit_the_file_gives(self):
        gbp = next(row for row in parse_rates_file(ECB_DAILY).rows if row.quote == "GBP")
        assert gbp.rate == Decimal("0.86040") and str(gbp.rate) == "0.86040"

    def test_currencies_we_do_not_hold_are_skipped_and_named(self):
        assert parse_rates_file(ECB_DAILY).skipped_currencies == {"BGN", "CZK", "ZAR"}


class TestReadingTheEcbHistoricalFile:
    def test_every_day_is_read(self):
        parsed = parse_rates_file(ECB_HISTORICAL)
        assert {row.as_of for row in parsed.rows} == {date(2024, 1, 5), date(2024, 1, 4), date(2022, 2, 28)}
        assert RateRow(date(2022, 2, 28), "EUR", "RUB", Decimal("117.2010")) in parsed.rows
        assert parsed.skipped_currencies == {"HRK"}


class TestRefusingBadXml:
    def test_a_dtd_is_refused_before_parsing(self):
        bomb = b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><Envelope>&lol;</Envelope>'
        with pytest.raises(InvalidRatesFile, match="DTD"):
            parse_rates_file(bomb)

    def test_malformed_xml_is_refused(self):
        with pytest.raises(InvalidRatesFile, match="well-formed"):
            parse_rates_file(ECB_DAILY[:-30])

    def test_xml_that_is_not_an_ecb_file_is_refused(self):
        with pytest.raises(InvalidRatesFile, match="not an ECB"):
            parse_rates_file(b"<rates><rate/></rates>")

    def test_a_file_without_days_is_refused(self):
        with pytest.raises(InvalidRatesFile, match="no <Cube time"):
            parse_rates_file(ECB_DAILY.replace(b"time=", b"tame="))

    def test_a_bad_rate_names_its_day_and_currency(self):
        with pytest.raises(InvalidRatesFile, match="2024-01-05 USD"):
            parse_rates_file(ECB_DAILY.replace(b"1.0921", b"-1.0921"))


class TestReadingCsv:
    def test_rows_of_any_base_are_read_and_comments_skipped(self):
        parsed = parse_rates_file(
            b"# set by hand\ndate,base,quote,rate\n2024-01-05,USD,RUB,90.15\n\n2024-01-05, EUR ,KZT, 500.5\n"
        )
        assert parsed.format == "csv"
        assert parsed.rows == [RateRow(date(2024, 1, 5), "USD", "RUB", Decimal("90.15")),
                               RateRow(date(2024, 1, 5), "EUR", "KZT", Decimal("500.5"))]

    def test_a_byte_order_mark_and_crlf_line_ends_are_fine(self):
        parsed = parse_rates_file(b"\xef\xbb\xbfdate,base,quote,rate\r\n2024-01-05,EUR,UAH,41.2\r\n")
        assert parsed.rows == [RateRow(date(2024, 1, 5), "EUR", "UAH", Decimal("41.2"))]

    def test_pairs_with_a_currency_we_do_not_hold_are_skipped(self):
        parsed = parse_rates_file(b"date,base,quote,rate\n2024-01-05,EUR,CHF,0.93\n")
        assert parsed.rows == [] and parsed.skipped_currencies == {"CHF"}

    @pytest.mark.parametrize(
        ("line", "message"),
        [
            ("2024-13-05,USD,RUB,90", "Line 2: '2024-13-05' is not a date"),
            ("05.01.2024,USD,RUB,90", "is not a date"),
            ("2024-01-05,usd,RUB,90", "not a three-letter currency code"),
            ("2024-01-05,USD,USD,1", "the same"),
            ("2024-01-05,USD,RUB", "expected 4 values"),
            ("2024-01-05,USD,RUB,9e1", "not a rate"),
            ("2024-01-05,USD,RUB,0", "between"),
            ("2024-01-05,USD,RUB,NaN", "not a rate"),
            ("2024-01-05,USD,RUB,90,5", "expected 4 values"),
        ],
    )
    def test_a_bad_line_is_refused_with_its_number(self, line, message):
        with pytest.raises(InvalidRatesFile, match=message):
            parse_rates_file(f"date,base,quote,rate\n{line}\n".encode())

    def test_a_wrong_header_is_refused(self):
        with pytest.raises(InvalidRatesFile, match="header must be date,base,quote,rate"):
            parse_rates_file(b"day,from,to,rate\n2024-01-05,USD,RUB,90\n")

    def test_two_rates_for_one_pair_and_day_are_refused(self):
        with pytest.raises(InvalidRatesFile, match="Line 3: a second rate for RUB/USD"):
            parse_rates_file(b"date,base,quote,rate\n2024-01-05,USD,RUB,90\n2024-01-05,RUB,USD,0.011\n")

    def test_a_file_that_is_not_utf8_is_refused(self):
        with pytest.raises(InvalidRatesFile, match="not UTF-8"):
            parse_rates_file(b"date,base,quote,rate\n\xff\xfe")

    def test_an_empty_file_is_refused(self):
        with pytest.raises(InvalidRatesFile, match="no rates"):
            parse_rates_file(b"# nothing\n")


class TestParsingATypedRate:
    @pytest.mark.parametrize("text", ["92.51", "0.000000001", "1000000000", " 7 "])
    def test_plain_decimals_in_range_are_read_exactly(self, text):
        assert parse_rate(text) == Decimal(text.strip())

    @pytest.mark.parametrize("text", ["", "-1", "1e3", "1,5", "0", "0.0000000001", "1000000001",
                                      "1" * 50, "1.234567890123456789012"])
    def test_anything_else_is_refused(self, text):
        with pytest.raises(InvalidRate):
            parse_rate(text)
