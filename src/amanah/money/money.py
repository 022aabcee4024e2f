"""``Money``: an exact integer of minor units in one currency, and roundings named at each use."""

from __future__ import annotations

import copy
import decimal
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from functools import lru_cache, total_ordering

from babel import Locale
from babel.numbers import (
    NumberFormatError,
    NumberPattern,
    format_currency,
    get_decimal_symbol,
    get_group_symbol,
    get_minus_sign_symbol,
    parse_decimal,
)

from amanah.core.limits import AMOUNT_MAX_MINOR, AMOUNT_TEXT_LENGTH_MAX, LOCALE_PATTERNS_CACHED_MAX
from amanah.money.currencies import CURRENCIES, Currency
from amanah.money.currencies import currency as find_currency
from amanah.money.errors import CurrencyMismatch, InvalidAmount

BPS_PER_WHOLE = 10_000
"""Basis points in 100%: 250 bps is 2.5%."""

# Enough digits for any amount up to AMOUNT_MAX_MINOR with any exponent, so that the decimal
# arithmetic in of_major is exact once the magnitude has been checked.
_CONTEXT = decimal.Context(prec=40)

_MAJOR_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?", re.ASCII)
_DIGITS = frozenset("0123456789")
# Typed minus signs: the ASCII hyphen-minus and U+2212 MINUS SIGN, which some keyboards and
# locales produce; the locale's own is added when parsing.
_MINUS_SIGNS = frozenset("-\u2212")


class Rounding(Enum):
    """Which way a result between two minor units goes; every rounding is named at its call site.

    Each value is the matching ``decimal`` rounding constant (``Rounding.DOWN.value`` is
    ``decimal.ROUND_DOWN``), so it can be handed to ``Decimal.quantize``.
    """

    DOWN = decimal.ROUND_DOWN
    """Toward zero: 1.7 → 1, -1.7 → -1. A fee rounded DOWN favours the one who pays it."""
    UP = decimal.ROUND_UP
    """Away from zero: 1.2 → 2, -1.2 → -2."""
    FLOOR = decimal.ROUND_FLOOR
    """Toward negative infinity: 1.7 → 1, -1.2 → -2."""
    CEILING = decimal.ROUND_CEILING
    """Toward positive infinity: 1.2 → 2, -1.7 → -1."""
    HALF_EVEN = decimal.ROUND_HALF_EVEN
    """To the nearest; a tie goes to the even neighbour (banker's rounding): 2.5 → 2, 3.5 → 4."""
    HALF_UP = decimal.ROUND_HALF_UP
    """To the nearest; a tie goes away from zero: 2.5 → 3, -2.5 → -3."""


@total_ordering  # <=, >, >= from < and ==; < refuses a different currency, so they do too
@dataclass(frozen=True, slots=True, repr=False)
class Money:
    """A sum of money: ``amount_minor`` minor units (cents, kopecks; yen for JPY) of ``currency``.

    May be negative (a line of history, a difference); the ledger checks signs itself. Sums of
    different currencies never mix: adding, subtracting or ordering them raises
    ``CurrencyMismatch``; ``==`` is simply false, so sets and dicts keep working.
    """

    amount_minor: int
    currency: Currency

    def __post_init__(self) -> None:
        # type() rather than isinstance(): bool is an int subclass, and True cents is a bug.
        if type(self.amount_minor) is not int:
            raise TypeError(f"amount_minor must be an int, not {type(self.amount_minor).__name__}")
        if not isinstance(self.currency, Currency):
            raise TypeError(f"currency must be a Currency, not {type(self.currency).__name__}")
        assert CURRENCIES.get(self.currency.code) == self.currency, self.currency

    # -- making and reading --------------------------------------------------------------------

    @classmethod
    def zero(cls, currency: Currency | str) -> Money:
        return cls(0, find_currency(currency))

    @classmethod
    def of_major(
        cls,
        value: Decimal | str | int,
        currency: Currency | str,
        *,
        rounding: Rounding | None = None,
    ) -> Money:
        """The sum of ``value`` major units: ``of_major(Decimal("19.99"), USD)`` is 1999 cents.

        A value with more decimals than the currency has raises ``InvalidAmount`` unless a
        ``rounding`` is named: losing part of someone's money must be a visible decision.
        """
        found = find_currency(currency)
        major = _as_decimal(value)
        largest = Money(AMOUNT_MAX_MINOR, found).to_decimal()
        if rounding is not None and not isinstance(rounding, Rounding):
            raise TypeError(f"rounding must be a Rounding, not {type(rounding).__name__}")
        if major.copy_abs() > largest:  # copy_abs: exact, where abs() overflows on 1e999999999
            raise InvalidAmount(f"The amount is too large: at most {largest} {found.code}.")
        step = Decimal(1).scaleb(-found.exponent)
        mode = (rounding or Rounding.HALF_EVEN).value  # without a named rounding, only exact passes
        exact = major.quantize(step, rounding=mode, context=_CONTEXT)
        if exact != major and rounding is None:
            raise InvalidAmount(_too_many_decimals(major, found))
        return cls(int(exact.scaleb(found.exponent, context=_CONTEXT)), found)

    def to_decimal(self) -> Decimal:
        """The sum in major units with exactly ``exponent`` places: 1999 USD → Decimal("19.99")."""
        # Built from digits rather than divided, so it is exact at any size, whatever the context.
        sign, digits, _ = Decimal(self.amount_minor).as_tuple()
        return Decimal((sign, digits, -self.currency.exponent))

    def to_dict(self) -> dict:
        """The API's money shape: ``{"amount": 1999, "currency": "USD"}``."""
        return {"amount": self.amount_minor, "currency": self.currency.code}

    @property
    def is_zero(self) -> bool:
        return self.amount_minor == 0

    @property
    def is_positive(self) -> bool:
        return self.amount_minor > 0

    @property
    def is_negative(self) -> bool:
        return self.amount_minor < 0

    def __str__(self) -> str:
        return f"{self.to_decimal():f} {self.currency.code}"

    def __repr__(self) -> str:
        return f"Money({self.amount_minor}, {self.currency.code})"

    # -- arithmetic ----------------------------------------------------------------------------

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        return Money(self.amount_minor + self._same_currency(other).amount_minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        return Money(self.amount_minor - self._same_currency(other).amount_minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount_minor, self.currency)

    def __abs__(self) -> Money:
        return Money(abs(self.amount_minor), self.currency)

    def __mul__(self, factor: int) -> Money:
        # Only whole multiples (quantity × unit price); a fractional factor needs a rounding,
        # which percent_bps and convert make the caller name.
        if type(factor) is not int:
            return NotImplemented
        return Money(self.amount_minor * factor, self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        return self.amount_minor < self._same_currency(other).amount_minor

    def _same_currency(self, other: Money) -> Money:
        if other.currency != self.currency:
            raise CurrencyMismatch(
                f"These amounts are in different currencies ({self.currency.code} and "
                f"{other.currency.code}) and cannot be combined or compared."
            )
        return other

    # -- splitting and converting --------------------------------------------------------------

    def percent_bps(self, bps: int, *, rounding: Rounding) -> Money:
        """``bps`` basis points of this sum (250 → 2.5%), rounded as named: a fee is a decision."""
        if type(bps) is not int:
            raise TypeError(f"bps must be an int, not {type(bps).__name__}")
        assert 0 <= bps <= BPS_PER_WHOLE, bps
        return Money(_divide(self.amount_minor * bps, BPS_PER_WHOLE, rounding), self.currency)

    def convert(self, rate: Decimal, to: Currency | str, *, rounding: Rounding) -> Money:
        """This sum in ``to`` at ``rate`` (units of ``to`` per unit of ours), rounded as named."""
        if type(rate) is not Decimal:
            raise TypeError(f"rate must be a Decimal, not {type(rate).__name__}")
        assert rate.is_finite() and rate > 0, rate
        target = find_currency(to)
        numerator, denominator = rate.as_integer_ratio()
        shift = target.exponent - self.currency.exponent
        numerator *= self.amount_minor * 10 ** max(shift, 0)
        denominator *= 10 ** max(-shift, 0)
        return Money(_divide(numerator, denominator, rounding), target)

    def allocate(self, ratios: list[int]) -> list[Money]:
        """Split into parts proportional to ``ratios`` that add up to exactly this sum.

        Each part is first rounded toward zero; the minor units left over go one each to the
        parts whose exact share lost most (largest remainder), earlier parts first on a tie. So
        no part is a whole minor unit from its exact share, a zero ratio gets nothing, and the
        same input always splits the same way.
        """
        _check_ratios(ratios)
        total = sum(ratios)
        magnitude = abs(self.amount_minor)
        shares = [divmod(magnitude * ratio, total) for ratio in ratios]
        left_over = magnitude - sum(share for share, _ in shares)
        # sorted() is stable, so equal remainders keep their order: earlier parts first.
        by_remainder = sorted(range(len(shares)), key=lambda index: -shares[index][1])
        topped_up = set(by_remainder[:left_over])
        sign = -1 if self.amount_minor < 0 else 1
        return [
            Money(sign * (share + (index in topped_up)), self.currency)
            for index, (share, _) in enumerate(shares)
        ]

    # -- text ----------------------------------------------------------------------------------

    def format(self, locale: str = "en") -> str:
        """For people: ``$19.99`` (en), ``￥1,999`` (ja JPY), ``1 234,56 ₽`` (ru), with exactly
        the currency's decimals (Babel's own table may disagree with ISO 4217; ours wins)."""
        major = self.to_decimal()
        # Babel rounds in the thread's context (28 digits by default); give it room for any sum.
        with decimal.localcontext(prec=max(_CONTEXT.prec, len(major.as_tuple().digits) + 1)):
            return format_currency(
                major,
                self.currency.code,
                format=_currency_pattern(_locale_id(locale), self.currency.exponent),
                locale=_locale_id(locale),
                currency_digits=False,
            )

    @classmethod
    def parse(cls, text: str, currency: Currency | str, locale: str = "en") -> Money:
        """Read an amount a person typed in ``locale`` ("$1,234.50", "1 234,50 ₽", "19.99").

        The currency's symbol or code and a minus sign may surround the number. Grouping is
        checked strictly, and extra decimals raise ``InvalidAmount``: a typo must never become
        a different sum by silent rounding.
        """
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, not {type(text).__name__}")
        found = find_currency(currency)
        if len(text) > AMOUNT_TEXT_LENGTH_MAX:
            example = _example(found, locale)
            raise InvalidAmount(f"That is too long to be an amount. Write it like {example}.")
        return cls.of_major(_parse_major(text, found, _locale_id(locale)), found)


def _divide(numerator: int, denominator: int, rounding: Rounding) -> int:
    """``numerator / denominator`` rounded to an integer as named; exact at any size."""
    if not isinstance(rounding, Rounding):
        raise TypeError(f"rounding must be a Rounding, not {type(rounding).__name__}")
    assert denominator > 0, denominator
    quotient, remainder = divmod(numerator, denominator)  # quotient is the floor
    if remainder == 0:
        return quotient
    if rounding in (Rounding.HALF_EVEN, Rounding.HALF_UP) and 2 * remainder != denominator:
        return quotient + (2 * remainder > denominator)
    if rounding is Rounding.HALF_EVEN:  # an exact tie
        return quotient + quotient % 2
    # The exact value lies strictly between quotient and quotient + 1; its sign is numerator's.
    step_up = {
        Rounding.FLOOR: False,
        Rounding.CEILING: True,
        Rounding.DOWN: numerator < 0,
        Rounding.UP: numerator > 0,
        Rounding.HALF_UP: numerator > 0,  # a tie goes away from zero, like UP
    }[rounding]
    return quotient + step_up


def _as_decimal(value: Decimal | str | int) -> Decimal:
    # type() checks: bool is an int, and a float has already lost the cents it claims to hold.
    if type(value) is int:
        return Decimal(value)
    if type(value) is Decimal:
        if not value.is_finite():
            raise InvalidAmount("The amount must be a number.")
        return value
    if type(value) is str:
        if len(value) > AMOUNT_TEXT_LENGTH_MAX or not _MAJOR_TEXT.fullmatch(value.strip()):
            raise InvalidAmount("The amount must be a plain number such as 19.99.")
        return Decimal(value.strip())
    raise TypeError(f"an amount must be a Decimal, str or int, not {type(value).__name__}")


def _too_many_decimals(major: Decimal, currency: Currency) -> str:
    if currency.exponent == 0:
        return f"{currency.code} amounts are whole numbers; {major:f} has decimals."
    return f"{major:f} has more decimal places than {currency.code} allows ({currency.exponent})."


def _check_ratios(ratios: list[int]) -> None:
    if any(type(ratio) is not int for ratio in ratios):
        raise TypeError(f"ratios must be ints: {ratios!r}")
    assert ratios and all(ratio >= 0 for ratio in ratios) and sum(ratios) > 0, ratios


def _locale_id(locale: str) -> str:
    # Accept-Language and HTML use "pt-BR"; Babel wants "pt_BR".
    return locale.replace("-", "_")


@lru_cache(maxsize=LOCALE_PATTERNS_CACHED_MAX)
def _currency_pattern(locale: str, exponent: int) -> NumberPattern:
    pattern = copy.copy(Locale.parse(locale).currency_formats["standard"])
    pattern.frac_prec = (exponent, exponent)
    return pattern


def _example(currency: Currency, locale: str) -> str:
    return Money(1999, currency).format(locale)


def _parse_major(text: str, currency: Currency, locale: str) -> Decimal:
    """The signed major-unit value in ``text``; ``InvalidAmount`` unless it is a proper number."""
    # NFKC turns full-width digits (common from Japanese input methods) into ASCII and every
    # kind of space into a plain one, so what looks right to the person parses.
    normal = unicodedata.normalize("NFKC", text)
    body, negative = _strip_sign_and_symbol(normal, currency, locale)
    group, point = get_group_symbol(locale), get_decimal_symbol(locale)
    if unicodedata.normalize("NFKC", group) == " ":
        body = body.replace(" ", group)  # the locale groups with a (no-break) space
    if "." not in (group, point):
        # ru writes 19,99 but people type 19.99 on an English keyboard; with no dot in the
        # locale's number format, the dot can only be meant as the decimal point.
        body = body.replace(".", point)
    if not body or not set(body) <= _DIGITS | {group, point}:
        example = _example(currency, locale)
        raise InvalidAmount(f"'{_shown(text)}' is not an amount. Write it like {example}.")
    try:
        major = parse_decimal(body, locale, strict=True)
    except NumberFormatError as error:
        guesses = " or ".join(f"'{_shown(guess)}'" for guess in (error.suggestions or ()))
        hint = f"Did you mean {guesses}?"
        if not guesses:
            hint = f"Write it like {_example(currency, locale)}."
        raise InvalidAmount(f"'{_shown(text)}' is not a well-formed amount. {hint}") from None
    return -major if negative else major


def _shown(text: str) -> str:
    # Echo what the person typed, but never a control character (logs, terminals); no-break
    # spaces read as spaces.
    return "".join(char if char.isprintable() else " " for char in text.strip())


def _strip_sign_and_symbol(text: str, currency: Currency, locale: str) -> tuple[str, bool]:
    """Remove one minus sign and one currency symbol or code, in either order, from either end."""
    symbol = unicodedata.normalize("NFKC", currency.symbol(locale))
    markers = sorted({symbol, currency.code}, key=len, reverse=True)  # never strip half a marker
    minus_signs = _MINUS_SIGNS | {unicodedata.normalize("NFKC", get_minus_sign_symbol(locale))}
    body, negative, marked = text.strip(), False, False
    changed = True
    while changed:
        changed = False
        minus = next((sign for sign in minus_signs if body.startswith(sign)), None)
        if minus and not negative:
            body, negative, changed = body.removeprefix(minus).strip(), True, True
        for marker in () if marked else markers:
            trimmed = body.removeprefix(marker)
            trimmed = trimmed if trimmed != body else body.removesuffix(marker)
            if trimmed != body:
                body, marked, changed = trimmed.strip(), True, True
                break
    return body, negative
