"""Cross rates and quote prices: pure arithmetic on exact fractions, rounded once, as named.

Rates chain exactly: a cross rate is a product of stored decimals and their inverses, kept as a
``Fraction`` until the end, where it is rounded to a ``Decimal`` of a fixed number of
significant digits in a named direction. Money never meets a float."""

from __future__ import annotations

import decimal
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from amanah.core import limits
from amanah.fx.errors import RateStale, RateUnavailable
from amanah.fx.types import Rate
from amanah.money import CURRENCIES, Currency, InvalidAmount, Money, Rounding
from amanah.money.money import BPS_PER_WHOLE


def to_decimal(value: Fraction, *, digits: int, rounding: Rounding) -> Decimal:
    """``value`` as a ``Decimal`` of at most ``digits`` significant digits, rounded as named."""
    assert value > 0 and isinstance(rounding, Rounding), (value, rounding)
    context = decimal.Context(prec=digits, rounding=rounding.value)
    # Decimal(int) is exact; one correctly rounded division then gives the result.
    return context.divide(Decimal(value.numerator), Decimal(value.denominator))


def plain(value: Decimal) -> str:
    """A rate on the wire: plain digits, no exponent, no trailing zeros ("92.51", "0.0108")."""
    return format(value.normalize(), "f")


@dataclass(frozen=True, slots=True)
class CrossRate:
    """One ``base`` is worth exactly ``rate`` ``quote``, from rates of ``as_of`` or later."""

    base: Currency
    quote: Currency
    rate: Fraction
    as_of: date
    """The oldest day among the rates chained: the cross rate is only as fresh as that one."""
    path: tuple[str, ...]
    sources: frozenset[str]

    def shown(self) -> Decimal:
        """For people: ``FX_RATE_SHOWN_DIGITS`` significant digits, to the nearest."""
        return to_decimal(self.rate, digits=limits.FX_RATE_SHOWN_DIGITS, rounding=Rounding.HALF_EVEN)


@dataclass(frozen=True, slots=True)
class _Edge:
    to: str
    rate: Fraction
    as_of: date
    source: str


class RateTable:
    """The latest rate of every pair, as of the day ``on``, and cross rates between any two.

    Each pair keeps its newest rate, whichever way round it was given (an inverse is exact as a
    fraction). A cross rate takes the shortest chain of fresh rates (at most
    ``age_max_days`` old); only when none exists does it look at stale ones, to say so."""

    def __init__(self, rates: Iterable[Rate], *, on: date, age_max_days: int) -> None:
        self.on, self.age_max_days = on, age_max_days
        newest: dict[frozenset[str], Rate] = {}
        for rate in rates:
            assert rate.as_of <= on, (rate, on)
            pair = frozenset((rate.base.code, rate.quote.code))
            # >=: on a tie, the one stored last (rates arrive in id order) wins.
            if pair not in newest or _recency(rate) >= _recency(newest[pair]):
                newest[pair] = rate
        self._edges: dict[str, list[_Edge]] = {code: [] for code in CURRENCIES}
        for rate in sorted(newest.values(), key=lambda r: (-r.as_of.toordinal(), r.base.code, r.quote.code)):
            exact = Fraction(rate.rate)
            self._edges[rate.base.code].append(_Edge(rate.quote.code, exact, rate.as_of, rate.source))
            self._edges[rate.quote.code].append(_Edge(rate.base.code, 1 / exact, rate.as_of, rate.source))

    def is_fresh(self, as_of: date) -> bool:
        return (self.on - as_of).days <= self.age_max_days

    def cross(self, base: Currency, quote: Currency) -> CrossRate:
        """The rate to price with; ``RateStale`` or ``RateUnavailable`` when there is none."""
        fresh = self.find(base, quote, fresh_only=True)
        if fresh is not None:
            return fresh
        stale = self.find(base, quote, fresh_only=False)
        if stale is not None:
            raise RateStale(
                f"The newest exchange rate from {base.code} to {quote.code} is from "
                f"{stale.as_of.isoformat()}, older than the {self.age_max_days} days we accept; "
                "conversion between them is unavailable until today's rates are loaded."
            )
        raise RateUnavailable(
            f"There is no exchange rate between {base.code} and {quote.code} yet; conversion "
            "between them is unavailable until the operator loads or sets one."
        )

    def find(self, base: Currency, quote: Currency, *, fresh_only: bool) -> CrossRate | None:
        """The shortest chain of rates from ``base`` to ``quote`` (breadth first), or None."""
        assert base != quote
        paths: dict[str, tuple[_Edge, ...]] = {base.code: ()}
        queue = deque([base.code])
        while queue:
            code = queue.popleft()
            if len(paths[code]) >= limits.FX_CROSS_RATE_HOPS_MAX:
                continue
            for edge in self._edges[code]:
                if edge.to in paths or (fresh_only and not self.is_fresh(edge.as_of)):
                    continue
                paths[edge.to] = paths[code] + (edge,)
                if edge.to == quote.code:
                    return _chain(base, quote, paths[edge.to])
                queue.append(edge.to)
        return None


def _recency(rate: Rate) -> tuple:
    return (rate.as_of, rate.imported_at.timestamp() if rate.imported_at else 0.0)


def _chain(base: Currency, quote: Currency, edges: tuple[_Edge, ...]) -> CrossRate:
    rate = Fraction(1)
    for edge in edges:
        rate *= edge.rate
    return CrossRate(
        base=base, quote=quote, rate=rate,
        as_of=min(edge.as_of for edge in edges),
        path=(base.code, *(edge.to for edge in edges)),
        sources=frozenset(edge.source for edge in edges),
    )


@dataclass(frozen=True, slots=True)
class Price:
    """What buying ``buy`` costs in the sell currency: ``sell``, of which ``spread`` is margin."""

    sell: Money
    buy: Money
    spread: Money
    rate: Decimal
    """Sell-currency units per buy-currency unit, spread included (rounded up)."""
    mid_rate: Decimal
    """The same without the spread (to the nearest)."""


def price(buy: Money, sell_currency: Currency, *, mid: Fraction, spread_bps: int) -> Price:
    """Prices ``buy`` in ``sell_currency`` at ``mid`` (sell units per buy unit) plus the spread.

    Both roundings go UP, toward the house: the rate is rounded up, then the sum charged is
    rounded up, so the buyer always pays at least ``buy × mid × (1 + spread)`` and less than
    one minor unit more; the one paid gets exactly ``buy``. The spread is what the charge
    exceeds the mid-market value by (that value also rounded up, so revenue is never overstated)."""
    assert buy.is_positive and buy.currency != sell_currency and 0 <= spread_bps <= BPS_PER_WHOLE
    with_spread = mid * Fraction(BPS_PER_WHOLE + spread_bps, BPS_PER_WHOLE)
    rate = to_decimal(with_spread, digits=limits.FX_QUOTE_RATE_DIGITS, rounding=Rounding.UP)
    mid_rate = to_decimal(mid, digits=limits.FX_QUOTE_RATE_DIGITS, rounding=Rounding.HALF_EVEN)
    sell = buy.convert(rate, sell_currency, rounding=Rounding.UP)
    at_mid = buy.convert(mid_rate, sell_currency, rounding=Rounding.UP)
    if sell.amount_minor > limits.AMOUNT_MAX_MINOR:
        raise InvalidAmount(
            f"{buy} would cost more than the most one payment can move in {sell_currency.code}.",
            param="buy.amount",
        )
    assert sell >= at_mid > Money.zero(sell_currency), (sell, at_mid)
    return Price(sell=sell, buy=buy, spread=sell - at_mid, rate=rate, mid_rate=mid_rate)
