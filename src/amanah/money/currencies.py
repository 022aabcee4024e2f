"""The 14 currencies Amanah holds money in, with their ISO 4217 numeric codes and exponents."""

from __future__ import annotations

from dataclasses import dataclass

from babel.numbers import get_currency_name, get_currency_symbol

from amanah.money.errors import UnsupportedCurrency

_CODE_SHOWN_LENGTH_MAX = 16
"""An unsupported code is echoed back in the error, cut to this length: the caller sent it."""


@dataclass(frozen=True, slots=True)
class Currency:
    """One ISO 4217 currency: ``exponent`` is the number of minor units digits (USD 2, JPY 0)."""

    code: str
    numeric: str
    exponent: int

    def name(self, locale: str = "en") -> str:
        """The currency's name in ``locale``, e.g. "US Dollar", "доллар США"."""
        return get_currency_name(self.code, locale=locale)

    def symbol(self, locale: str = "en") -> str:
        """The currency's symbol in ``locale``, e.g. "$", "US$", "₽"; the code where none is set."""
        return get_currency_symbol(self.code, locale=locale)

    def __str__(self) -> str:
        return self.code


USD = Currency("USD", "840", 2)
EUR = Currency("EUR", "978", 2)
GBP = Currency("GBP", "826", 2)
CNY = Currency("CNY", "156", 2)
RUB = Currency("RUB", "643", 2)
JPY = Currency("JPY", "392", 0)
KRW = Currency("KRW", "410", 0)
# ISO 4217 gives the rupiah 2 decimals although cash has none; following the standard keeps
# amounts exchanged with card networks in the unit they use.
IDR = Currency("IDR", "360", 2)
INR = Currency("INR", "356", 2)
BRL = Currency("BRL", "986", 2)
TRY = Currency("TRY", "949", 2)
KZT = Currency("KZT", "398", 2)
UAH = Currency("UAH", "980", 2)
AUD = Currency("AUD", "036", 2)

CURRENCIES: dict[str, Currency] = {
    c.code: c for c in (USD, EUR, GBP, CNY, RUB, JPY, KRW, IDR, INR, BRL, TRY, KZT, UAH, AUD)
}
"""The supported currencies by code, in the order screens and ``GET /v1/currencies`` list them."""


def currency(code: str | Currency) -> Currency:
    """The supported currency for ``code`` (" usd " works too), or ``UnsupportedCurrency``."""
    if isinstance(code, Currency):
        # A hand-made Currency("USD", "840", 3) must not pass for the real one.
        if CURRENCIES.get(code.code) != code:
            raise UnsupportedCurrency(_unsupported_message(code.code))
        code = code.code
    found = CURRENCIES.get(code.strip().upper()) if isinstance(code, str) else None
    if found is None:
        raise UnsupportedCurrency(_unsupported_message(code))
    return found


def _unsupported_message(code: object) -> str:
    supported = ", ".join(CURRENCIES)
    if not isinstance(code, str) or not code.strip():
        return f"Give the currency as a three-letter code, one of: {supported}."
    shown = code.strip()[:_CODE_SHOWN_LENGTH_MAX]
    return f"{shown!r} is not a supported currency. Use one of: {supported}."
