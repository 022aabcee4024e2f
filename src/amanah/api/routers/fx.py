"""Currencies and exchange: the 14 currencies, today's rates, FX quotes.

Authentication does not exist yet (platform, user and operator keys land with later issues), so
these endpoints are public for now. Currencies and rates may well stay public; quotes will be
scoped to their caller (``owner_ref``) once callers can be told apart."""

from __future__ import annotations

import re
from datetime import date, datetime

from babel import Locale, UnknownLocaleError
from fastapi import Depends, Header, Query
from sqlalchemy.engine import Engine

from amanah.api.deps import get_engine, get_now, get_settings
from amanah.api.links import links
from amanah.api.routing import Router
from amanah.core import limits
from amanah.core.config import Settings
from amanah.core.db import run_in_transaction
from amanah.core.errors import InvalidRequest
from amanah.fx import service
from amanah.fx.schemas import CurrencyList, CurrencyOut, QuoteIn, QuoteOut, RatesOut
from amanah.money import CURRENCIES, Money

router = Router(tags=["currencies and exchange"])

_LOCALE_TAG = re.compile(r"[A-Za-z]{2,8}([-_][A-Za-z0-9]{1,8}){0,3}", re.ASCII)
_DEFAULT_LOCALE = "en"


@router.get("/v1/currencies", response_model=CurrencyList,
            summary="The 14 supported currencies, with localised names, symbols and exponents")
def list_currencies(
    locale: str | None = Query(None, max_length=35, description="e.g. ru, pt-BR; overrides Accept-Language."),
    accept_language: str | None = Header(None),
) -> CurrencyList:
    chosen = _locale(locale, accept_language)
    return CurrencyList(locale=chosen.replace("_", "-"),
                        data=[CurrencyOut.of(currency, chosen) for currency in CURRENCIES.values()])


@router.get("/v1/fx/rates", response_model=RatesOut,
            summary="Mid-market rates of every currency against one base, with the day they are from")
def get_rates(
    base: str = Query("USD", max_length=16, description="The currency the rates are priced in."),
    on: date | None = Query(None, alias="date", description="A past day (YYYY-MM-DD); today if left out."),
    engine: Engine = Depends(get_engine),
    settings: Settings = Depends(get_settings),
    now: datetime = Depends(get_now),
) -> RatesOut:
    base_currency = service.supported_currency(base, param="base")
    if on is not None and on > now.date():
        raise InvalidRequest("The date is in the future; rates are known up to today.", code="date_in_future",
                             param="date")
    day = on or now.date()
    view = run_in_transaction(engine, lambda connection: service.rates_for(
        connection, base_currency.code, on=day, age_max_days=settings.fx_rate_age_max_days))
    return RatesOut.of(view)


@router.post("/v1/fx/quotes", response_model=QuoteOut, status_code=201,
             responses=links("quote_id", {"GetQuote": ("GET", "/v1/fx/quotes/{quote_id}")}),
             summary="Price buying an exact sum with another currency; a payment can lock it once")
def create_quote(
    body: QuoteIn,
    engine: Engine = Depends(get_engine),
    settings: Settings = Depends(get_settings),
    now: datetime = Depends(get_now),
) -> QuoteOut:
    buy = Money(body.buy.amount, service.supported_currency(body.buy.currency, param="buy.currency"))
    quote = run_in_transaction(engine, lambda connection: service.create_quote(
        connection, sell_currency=body.sell_currency, buy=buy, settings=settings, now=now))
    return QuoteOut.of(quote, now)


@router.get("/v1/fx/quotes/{quote_id}", response_model=QuoteOut, summary="A quote and its status")
def get_quote(quote_id: str, engine: Engine = Depends(get_engine),
              now: datetime = Depends(get_now)) -> QuoteOut:
    quote = run_in_transaction(engine, lambda connection: service.get_quote(connection, quote_id))
    return QuoteOut.of(quote, now)


def _locale(requested: str | None, accept_language: str | None) -> str:
    """``?locale=`` when given (an unknown one is a 400), else the best of Accept-Language."""
    if requested is not None:
        found = _known_locale(requested)
        if found is None:
            raise InvalidRequest(f"{requested[:35]!r} is not a locale we know; use a tag such as "
                                 "en, ru or pt-BR.", code="invalid_locale", param="locale")
        return found
    for tag in _accept_language_tags(accept_language or ""):
        found = _known_locale(tag)
        if found is not None:
            return found
    return _DEFAULT_LOCALE


def _accept_language_tags(header: str) -> list[str]:
    """The header's language tags, most preferred first (``q`` weights; junk is ignored)."""
    weighted = []
    for position, part in enumerate(header[:limits.ACCEPT_LANGUAGE_LENGTH_MAX].split(",")):
        tag, _, parameters = part.strip().partition(";")
        weight = 1.0
        if parameters.strip().startswith("q="):
            try:
                weight = float(parameters.strip()[2:])  # a preference weight, not money
            except ValueError:
                continue
        if tag and tag != "*" and weight > 0:
            weighted.append((-weight, position, tag.strip()))
    return [tag for _, _, tag in sorted(weighted)[:limits.ACCEPT_LANGUAGE_TAGS_MAX]]


def _known_locale(tag: str) -> str | None:
    if not _LOCALE_TAG.fullmatch(tag):
        return None
    try:
        return str(Locale.parse(tag.replace("-", "_")))
    except (ValueError, UnknownLocaleError):
        return None
