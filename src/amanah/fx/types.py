"""The FX vocabulary: stored rates, quotes and their states (plain frozen values)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from amanah.money import Currency, Money


@dataclass(frozen=True, slots=True)
class Rate:
    """One unit of ``base`` is worth ``rate`` units of ``quote`` on the day ``as_of``."""

    base: Currency
    quote: Currency
    rate: Decimal
    as_of: date
    source: str
    imported_at: datetime | None = None


class QuoteStatus(enum.StrEnum):
    OPEN = "open"
    """Given and still valid: a payment may lock it."""
    USED = "used"
    """Locked by a payment (single use); its transfers carry the quote's id as reference."""
    EXPIRED = "expired"
    """Its validity ended before any payment locked it."""


@dataclass(frozen=True, slots=True)
class Quote:
    """A price to buy ``buy`` by selling ``sell``, valid until ``expires_at``, usable once.

    ``rate`` is what one unit of the buy currency costs in the sell currency, spread included;
    ``sell`` is ``buy × rate`` rounded up, so the buyer is charged enough and the one paid is
    never short. ``spread`` (in the sell currency) is the part of ``sell`` above the mid-market
    value: it is what the FX revenue account earns."""

    id: str
    sell: Money
    buy: Money
    spread: Money
    rate: Decimal
    mid_rate: Decimal
    spread_bps: int
    rates_as_of: date
    created_at: datetime
    expires_at: datetime
    owner_ref: str | None = None
    used_at: datetime | None = None
    used_by: str | None = None

    def status(self, now: datetime) -> QuoteStatus:
        if self.used_at is not None:
            return QuoteStatus.USED
        if now >= self.expires_at:
            return QuoteStatus.EXPIRED
        return QuoteStatus.OPEN
