"""Money: the 14 currencies, and sums of money that cannot lose or invent a minor unit.

Design in short:

- A sum is ``Money(amount_minor, currency)``: an ``int`` of minor units (cents; yen for JPY)
  and a ``Currency`` from the fixed table of 14 (``CURRENCIES``; ``currency("usd")`` looks one
  up and raises ``UnsupportedCurrency`` for anything else). Floats are refused everywhere.
- Sums of different currencies never mix implicitly: ``+``, ``-`` and ordering raise
  ``CurrencyMismatch``. Converting is ``convert(rate, to, rounding=...)`` with a ``Decimal`` rate.
- Every operation that can land between two minor units takes a ``Rounding`` the caller must
  name (``percent_bps``, ``convert``; ``of_major`` refuses extra decimals unless one is named).
  ``allocate`` splits by ratios with no rounding at all: the parts always add up to the whole.
- Text is for people and goes through Babel: ``format(locale)`` shows exactly the currency's
  decimals; ``parse(text, currency, locale)`` is strict and never rounds what someone typed.
- The wire shape is ``to_dict()``: ``{"amount": 1999, "currency": "USD"}``.

Errors are ``InvalidRequest`` subclasses (``amanah.money.errors``); type misuse by our own code
(a float, a bool, a missing rounding) is a ``TypeError`` or an assertion, never a user error.
"""

from amanah.money.currencies import (
    AUD,
    BRL,
    CNY,
    CURRENCIES,
    EUR,
    GBP,
    IDR,
    INR,
    JPY,
    KRW,
    KZT,
    RUB,
    TRY,
    UAH,
    USD,
    Currency,
    currency,
)
from amanah.money.errors import CurrencyMismatch, InvalidAmount, UnsupportedCurrency
from amanah.money.money import Money, Rounding

__all__ = [
    "AUD",
    "BRL",
    "CNY",
    "CURRENCIES",
    "EUR",
    "GBP",
    "IDR",
    "INR",
    "JPY",
    "KRW",
    "KZT",
    "RUB",
    "TRY",
    "UAH",
    "USD",
    "Currency",
    "CurrencyMismatch",
    "InvalidAmount",
    "Money",
    "Rounding",
    "UnsupportedCurrency",
    "currency",
]
