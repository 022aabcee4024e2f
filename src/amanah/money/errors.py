"""Errors raised by ``amanah.money``: bad input from outside, shown to the caller as a 400."""

from __future__ import annotations

from amanah.core.errors import InvalidRequest


class UnsupportedCurrency(InvalidRequest):
    """A currency code that is not one of the 14 we hold money in."""

    code = "unsupported_currency"

    def __init__(self, message: str, *, code: str | None = None, param: str | None = "currency"):
        super().__init__(message, code=code, param=param)


class CurrencyMismatch(InvalidRequest):
    """Two sums in different currencies were added, subtracted or compared.

    Converting is a decision (which rate, which rounding) that belongs to ``fx``, never implicit.
    """

    code = "currency_mismatch"

    def __init__(self, message: str, *, code: str | None = None, param: str | None = "currency"):
        super().__init__(message, code=code, param=param)


class InvalidAmount(InvalidRequest):
    """An amount that is not a number, is too large, or has more decimals than its currency."""

    code = "invalid_amount"

    def __init__(self, message: str, *, code: str | None = None, param: str | None = "amount"):
        super().__init__(message, code=code, param=param)
