"""Quotes: price a purchase of one currency with another, then lock the price for one payment.

A quote is single use and short-lived (``AMANAH_FX_QUOTE_VALIDITY_S``). Locking is one
conditional UPDATE (not used, not expired), so two payments racing for one quote cannot both
win on either database; the lock is part of the caller's transaction and rolls back with it."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from amanah.core import limits
from amanah.core.config import Settings
from amanah.core.errors import InvalidRequest
from amanah.core.ids import has_prefix, new_id
from amanah.fx.errors import QuoteExpired, QuoteNotFound, QuoteUsed, SameCurrency
from amanah.fx.models import quotes
from amanah.fx.pricing import price
from amanah.fx.service.rates import rate_table
from amanah.fx.types import Quote, QuoteStatus
from amanah.money import CURRENCIES, Currency, InvalidAmount, Money, UnsupportedCurrency, currency


def create_quote(connection: Connection, *, sell_currency: str | Currency, buy: Money,
                 settings: Settings, now: datetime, owner_ref: str | None = None) -> Quote:
    """A quote to buy exactly ``buy`` by selling ``sell_currency``, at today's rates plus the
    configured spread; refuses stale or missing rates (``RateStale``, ``RateUnavailable``)."""
    sell = supported_currency(sell_currency, param="sell_currency")
    if sell == buy.currency:
        raise SameCurrency(f"Both sides of the quote are {sell.code}: nothing needs converting.",
                           param="sell_currency")
    if not 0 < buy.amount_minor <= limits.AMOUNT_MAX_MINOR:
        raise InvalidAmount(f"The amount to buy must be between 1 and {limits.AMOUNT_MAX_MINOR} "
                            f"minor units of {buy.currency.code}.", param="buy.amount")
    table = rate_table(connection, on=now.date(), age_max_days=settings.fx_rate_age_max_days)
    cross = table.cross(buy.currency, sell)  # sell-currency units per buy-currency unit
    priced = price(buy, sell, mid=cross.rate, spread_bps=settings.fx_spread_bps)
    quote = Quote(
        id=new_id("qt"), sell=priced.sell, buy=buy, spread=priced.spread, rate=priced.rate,
        mid_rate=priced.mid_rate, spread_bps=settings.fx_spread_bps, rates_as_of=cross.as_of,
        created_at=now, expires_at=now + timedelta(seconds=settings.fx_quote_validity_s),
        owner_ref=owner_ref,
    )
    connection.execute(sa.insert(quotes).values(_values(quote)))
    return quote


def get_quote(connection: Connection, quote_id: str) -> Quote:
    """The quote, or ``QuoteNotFound``."""
    row = None
    if isinstance(quote_id, str) and has_prefix(quote_id, "qt"):
        row = connection.execute(sa.select(quotes).where(quotes.c.id == quote_id)).one_or_none()
    if row is None:
        raise QuoteNotFound(f"There is no quote {str(quote_id)[:40]!r}.", param="quote_id")
    return _quote(row)


def lock_quote(connection: Connection, quote_id: str, *, used_by: str, now: datetime,
               buy: Money | None = None) -> Quote:
    """Marks the quote used by ``used_by`` (a payment's id) and returns it, in the caller's
    transaction. Refuses a quote that is unknown (404), already used or expired (409), or,
    when ``buy`` is given, one that does not buy exactly that (400)."""
    assert used_by and len(used_by) <= limits.TRANSFER_REFERENCE_LENGTH_MAX, used_by
    quote = get_quote(connection, quote_id)
    if buy is not None and quote.buy != buy:
        raise InvalidRequest(f"Quote {quote.id} buys {quote.buy}, not {buy}; ask for a new quote.",
                             code="quote_mismatch", param="quote_id")
    _refuse_unless_open(quote, now)
    locked = connection.execute(
        sa.update(quotes)
        .where(quotes.c.id == quote.id, quotes.c.used_at.is_(None), quotes.c.expires_at > now)
        .values(used_at=now, used_by=used_by)
    )
    if locked.rowcount != 1:  # a concurrent payment locked it between our read and our update
        _refuse_unless_open(get_quote(connection, quote.id), now)
        raise AssertionError("the conditional update missed an open quote")
    return get_quote(connection, quote.id)


def purge_expired_quotes(connection: Connection, *, now: datetime,
                         limit: int = limits.FX_QUOTE_PURGE_BATCH_MAX) -> int:
    """Deletes quotes that expired unused over ``FX_QUOTE_PURGE_AFTER_S`` ago; how many."""
    cutoff = now - timedelta(seconds=limits.FX_QUOTE_PURGE_AFTER_S)
    doomed = (
        sa.select(quotes.c.id)
        .where(quotes.c.used_at.is_(None), quotes.c.expires_at < cutoff)
        .order_by(quotes.c.expires_at)
        .limit(limit)
    )
    ids = list(connection.execute(doomed).scalars())
    if ids:
        connection.execute(sa.delete(quotes).where(quotes.c.id.in_(ids), quotes.c.used_at.is_(None)))
    return len(ids)


def _refuse_unless_open(quote: Quote, now: datetime) -> None:
    status = quote.status(now)
    if status is QuoteStatus.USED:
        raise QuoteUsed(f"Quote {quote.id} was already used by a payment; ask for a new quote.",
                        param="quote_id")
    if status is QuoteStatus.EXPIRED:
        raise QuoteExpired(
            f"Quote {quote.id} expired at {quote.expires_at.isoformat(timespec='seconds')}; "
            "ask for a new quote.", param="quote_id")


def supported_currency(code: str | Currency, *, param: str) -> Currency:
    """The supported currency for ``code``, or ``UnsupportedCurrency`` naming ``param``."""
    try:
        return currency(code)
    except UnsupportedCurrency as error:
        raise UnsupportedCurrency(error.message, param=param) from None


def _values(quote: Quote) -> dict:
    return {
        "id": quote.id, "sell_currency": quote.sell.currency.code, "sell_amount": quote.sell.amount_minor,
        "buy_currency": quote.buy.currency.code, "buy_amount": quote.buy.amount_minor,
        "spread_amount": quote.spread.amount_minor, "rate": quote.rate, "mid_rate": quote.mid_rate,
        "spread_bps": quote.spread_bps, "rates_as_of": quote.rates_as_of, "owner_ref": quote.owner_ref,
        "created_at": quote.created_at, "expires_at": quote.expires_at,
        "used_at": quote.used_at, "used_by": quote.used_by,
    }


def _quote(row) -> Quote:
    sell, buy = CURRENCIES[row.sell_currency], CURRENCIES[row.buy_currency]
    return Quote(
        id=row.id, sell=Money(row.sell_amount, sell), buy=Money(row.buy_amount, buy),
        spread=Money(row.spread_amount, sell), rate=row.rate, mid_rate=row.mid_rate,
        spread_bps=row.spread_bps, rates_as_of=row.rates_as_of, created_at=row.created_at,
        expires_at=row.expires_at, owner_ref=row.owner_ref, used_at=row.used_at, used_by=row.used_by,
    )
