"""The history's pure rules: signs, CSV cells, type names."""

from __future__ import annotations

import pytest

from amanah.wallet.errors import InvalidHistoryFilter
from amanah.wallet.service.history import CREDIT, DEBIT, _changes, parse_types
from amanah.wallet.service.history_csv import major_units, neutralise


class TestSignsFromTheUsersSide:
    @pytest.mark.parametrize("kind, side, held_amount, expected", [
        ("direct", DEBIT, 500, (-500, 0)),
        ("direct", CREDIT, 500, (500, 0)),
        ("pending", DEBIT, 500, (-500, 500)),  # paid into escrow: gone from available, held
        ("pending", CREDIT, 500, (0, 500)),  # sold: held for the seller, not yet available
        ("post_pending", DEBIT, 500, (0, -500)),
        ("post_pending", CREDIT, 500, (500, -500)),
        ("void_pending", DEBIT, 500, (500, -500)),
        ("void_pending", CREDIT, 500, (0, -500)),
        ("expire_pending", DEBIT, 500, (500, -500)),
    ])
    def test_each_kind_changes_available_and_held_as_the_ledger_does(self, kind, side, held_amount, expected):
        assert _changes(kind, 500, side, held_amount) == expected

    def test_a_partial_post_returns_the_rest_to_the_payer(self):
        assert _changes("post_pending", 300, DEBIT, 500) == (200, -500)
        assert _changes("post_pending", 300, CREDIT, 500) == (300, -500)


class TestCsvCells:
    @pytest.mark.parametrize("text", ["=1+2", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
    def test_formula_starts_become_text(self, text):
        assert neutralise(text) == "'" + text

    def test_ordinary_text_is_untouched(self):
        assert neutralise("Blue teapot") == "Blue teapot" and neutralise(None) == ""

    @pytest.mark.parametrize("amount, code, shown", [(-2599, "USD", "-25.99"), (5, "EUR", "0.05"),
                                                     (1234, "JPY", "1234"), (0, "KRW", "0"), (-1, "GBP", "-0.01")])
    def test_amounts_in_major_units_with_the_currencys_decimals(self, amount, code, shown):
        assert major_units(amount, code) == shown


class TestTypes:
    def test_types_are_read_from_a_comma_separated_list(self):
        assert parse_types("topup, payment") == {"topup", "payment"} and parse_types(None) == frozenset()

    def test_an_unknown_type_names_the_parameter(self):
        with pytest.raises(InvalidHistoryFilter) as raised:
            parse_types("topup,gifts")
        assert raised.value.param == "type"
