"""API shapes for currencies and exchange (Pydantic; the routes live in ``api/routers/fx.py``).

Money on the wire is an integer of minor units beside a currency code; rates, which are not
money, are decimal strings."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator

from amanah.core import limits
from amanah.fx.pricing import plain
from amanah.fx.service import RatesView
from amanah.fx.types import Quote
from amanah.money import Currency, Money

_CODE_LENGTH_MAX = 16  # longer than any code, short enough to echo back in an error


class CurrencyOut(BaseModel):
    code: str = Field(description="ISO 4217 code.", examples=["USD"])
    numeric_code: str = Field(description="ISO 4217 numeric code.", examples=["840"])
    exponent: int = Field(description="Digits of minor units: 2 for USD (cents), 0 for JPY and KRW.")
    name: str = Field(description="The currency's name in the response's locale.", examples=["US Dollar"])
    symbol: str = Field(description="The currency's symbol in the response's locale.", examples=["$"])

    @classmethod
    def of(cls, currency: Currency, locale: str) -> "CurrencyOut":
        return cls(code=currency.code, numeric_code=currency.numeric, exponent=currency.exponent,
                   name=currency.name(locale), symbol=currency.symbol(locale))


class CurrencyList(BaseModel):
    locale: str = Field(description="The locale names and symbols are given in.", examples=["en"])
    data: list[CurrencyOut]


class RatesOut(BaseModel):
    base: str = Field(examples=["USD"])
    as_of: date | None = Field(description="The day the oldest rate shown is from (none is older); "
                                           "null when there are no rates yet.")
    rates: dict[str, str] = Field(
        description="Mid-market units of each currency per one unit of `base`, as decimal strings.",
        examples=[{"RUB": "92.51", "EUR": "0.9259259259"}])
    rates_as_of: dict[str, date] = Field(description="The day each rate is from.")
    sources: list[str] = Field(description="Where the rates came from: ecb, csv, manual or sample "
                                           "(made-up demo data, not real rates).")

    @classmethod
    def of(cls, view: RatesView) -> "RatesOut":
        return cls(
            base=view.base.code, as_of=view.as_of,
            rates={code: plain(rate.shown()) for code, rate in view.rates.items()},
            rates_as_of={code: rate.as_of for code, rate in view.rates.items()},
            sources=sorted({source for rate in view.rates.values() for source in rate.sources}),
        )


class MoneyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: StrictInt = Field(ge=1, le=limits.AMOUNT_MAX_MINOR, description="Minor units (1999 USD is $19.99).")
    currency: str = Field(max_length=_CODE_LENGTH_MAX, description="ISO 4217 code.", examples=["USD"])

    @field_validator("amount", mode="before")
    @classmethod
    def _whole_minor_units(cls, value: object) -> object:
        if type(value) is not int:  # bool is an int subclass, and 19.99 or "1999" are mistakes
            raise ValueError("give an integer number of minor units, such as 1999 for 19.99 USD "
                             "(not a decimal, not a string)")
        return value


class QuoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sell_currency: str = Field(max_length=_CODE_LENGTH_MAX, examples=["RUB"],
                               description="The currency the payer pays in.")
    buy: MoneyIn = Field(description="The exact sum to obtain, e.g. the trade's price.")


class MoneyOut(BaseModel):
    amount: int
    currency: str

    @classmethod
    def of(cls, money: Money) -> "MoneyOut":
        return cls(**money.to_dict())


class QuoteOut(BaseModel):
    id: str = Field(examples=["qt_01JD8Z5M6X0E4H1S8W3Q2C9N7K"])
    rate: str = Field(description="What one unit of the buy currency costs in the sell currency, "
                                  "spread included (rounded up), as a decimal string.", examples=["93.98"])
    mid_rate: str = Field(description="The mid-market rate the quote was priced from.")
    spread_bps: int = Field(description="The margin over the mid-market rate, in basis points.")
    sell: MoneyOut = Field(description="What the payer is charged: `buy` × `rate`, rounded up.")
    buy: MoneyOut = Field(description="What the payee receives, exactly.")
    spread: MoneyOut = Field(description="The part of `sell` above its mid-market value.")
    rates_as_of: date = Field(description="The day the rates used are from.")
    status: str = Field(description="open, used (locked by a payment) or expired.")
    expires_at: datetime
    created_at: datetime

    @classmethod
    def of(cls, quote: Quote, now: datetime) -> "QuoteOut":
        return cls(
            id=quote.id, rate=plain(quote.rate), mid_rate=plain(quote.mid_rate),
            spread_bps=quote.spread_bps, sell=MoneyOut.of(quote.sell), buy=MoneyOut.of(quote.buy),
            spread=MoneyOut.of(quote.spread), rates_as_of=quote.rates_as_of,
            status=quote.status(now).value, expires_at=quote.expires_at, created_at=quote.created_at,
        )
