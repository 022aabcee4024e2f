"""My account → balances, top-up, withdraw; Payment history (and its CSV)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Literal

from fastapi import Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field, model_validator
from sqlalchemy.engine import Engine

from amanah.api.amounts import whole_numbers
from amanah.api.deps import get_engine, get_now, get_settings
from amanah.api.links import links
from amanah.api.routing import Router
from amanah.api.user_auth import STEP_UP, current_full_user, current_user
from amanah.core import ids, limits
from amanah.core.clock import utc
from amanah.core.config import Settings
from amanah.core.db import run_autocommit
from amanah.money import UnsupportedCurrency, currency
from amanah.wallet import service as wallet
from amanah.wallet.errors import InvalidHistoryFilter
from amanah.wallet.service.common import money

router = Router(prefix="/v1/me", tags=["wallet"])


class BalanceOut(BaseModel):
    currency: str
    available: int = Field(description="Minor units that can be spent or withdrawn now.")
    held: int = Field(description="Minor units in escrow (as buyer or seller) or being withdrawn.")


class BalanceList(BaseModel):
    data: list[BalanceOut]


@router.get("/balances", response_model=BalanceList, summary="My balances per currency")
def balances(user=Depends(current_user), engine: Engine = Depends(get_engine)) -> dict:
    with engine.connect() as connection:
        return {"data": [b.to_dict() for b in wallet.balances(connection, user.id)]}


class TopupCreate(BaseModel):
    amount: int = Field(gt=0, le=limits.AMOUNT_MAX_MINOR, description="Minor units of `currency` to add to the balance.")
    currency: str = Field(min_length=3, max_length=3)
    card_id: str | None = Field(None, max_length=40, description="One of my cards (`card_…`).")
    source: str | None = Field(None, max_length=40, description='Instead of card_id: "wallet:<provider>".')
    charge_currency: str | None = Field(None, min_length=3, max_length=3,
                                        description="Charge the card in this currency, converted at a locked quote.")
    quote_id: str | None = Field(None, max_length=40, description="A quote (POST /v1/fx/quotes) buying exactly the amount.")
    return_url: str | None = Field(None, max_length=500, description="Where 3-D Secure sends me back.")

    _whole = whole_numbers("amount")

    @model_validator(mode="after")
    def _one_source(self) -> "TopupCreate":
        if (self.card_id is None) == (self.source is None):
            raise ValueError('send either card_id or source ("wallet:<provider>")')
        return self


class NextAction(BaseModel):
    type: Literal["redirect_to_url"]
    url: str


class MoneyOut(BaseModel):
    amount: int
    currency: str


class TopupOut(BaseModel):
    id: str
    amount: int
    currency: str
    status: Literal["processing", "requires_action", "succeeded", "failed"]
    failure_code: str | None
    next_action: NextAction | None
    source: str
    source_label: str = Field(description='How the source is shown: "Visa •••• 4242".')
    charge: MoneyOut = Field(description="What the card is charged (another currency when converted).")
    quote_id: str | None
    created_at: datetime
    updated_at: datetime


@router.post("/topups", status_code=201, response_model=TopupOut, summary="Top up my balance from a card",
             responses={**links("topup_id", {"GetTopup": ("GET", "/v1/me/topups/{topup_id}")}), **STEP_UP})
def create_topup(body: TopupCreate, http: Request, user=Depends(current_full_user), engine: Engine = Depends(get_engine),
                 settings: Settings = Depends(get_settings), now: datetime = Depends(get_now)) -> dict:
    request = wallet.TopupRequest(
        amount=money(body.amount, body.currency.upper()), source=body.card_id or body.source or "",
        charge_currency=_currency(body.charge_currency, "charge_currency"), quote_id=body.quote_id,
        return_url=body.return_url)
    topup_id = ids.for_request("top", user.id, http.headers.get("Idempotency-Key"))
    return wallet.start_topup(engine, settings, user.id, request, now=now, topup_id=topup_id)


@router.get("/topups/{topup_id}", response_model=TopupOut, summary="One of my top-ups")
def get_topup(topup_id: str, user=Depends(current_user), engine: Engine = Depends(get_engine)) -> dict:
    with engine.connect() as connection:
        return wallet.get_topup(connection, user.id, topup_id)


class WithdrawalCreate(BaseModel):
    amount: int = Field(gt=0, le=limits.AMOUNT_MAX_MINOR, description="Minor units of `currency`.")
    currency: str = Field(min_length=3, max_length=3)
    card_id: str = Field(max_length=40, description="One of my cards (`card_…`).")

    _whole = whole_numbers("amount")


class WithdrawalOut(BaseModel):
    id: str
    amount: int
    currency: str
    status: Literal["processing", "succeeded", "failed"] = Field(
        description="failed: the payout was refused and the money is back on the balance.")
    failure_code: str | None
    card_id: str
    destination_label: str
    created_at: datetime
    updated_at: datetime


@router.post("/withdrawals", status_code=201, response_model=WithdrawalOut,
             responses={**links("withdrawal_id", {"GetWithdrawal": ("GET", "/v1/me/withdrawals/{withdrawal_id}")}),
                        **STEP_UP},
             summary="Withdraw my balance to a card (allowed while winding down)")
def create_withdrawal(body: WithdrawalCreate, http: Request, user=Depends(current_full_user),
                      engine: Engine = Depends(get_engine),
                      settings: Settings = Depends(get_settings), now: datetime = Depends(get_now)) -> dict:
    amount = money(body.amount, body.currency.upper())
    withdrawal_id = ids.for_request("wdr", user.id, http.headers.get("Idempotency-Key"))
    return wallet.withdraw(engine, settings, user.id, amount, body.card_id, now=now, withdrawal_id=withdrawal_id)


@router.get("/withdrawals/{withdrawal_id}", response_model=WithdrawalOut, summary="One of my withdrawals")
def get_withdrawal(withdrawal_id: str, user=Depends(current_user), engine: Engine = Depends(get_engine)) -> dict:
    with engine.connect() as connection:
        return wallet.get_withdrawal(connection, user.id, withdrawal_id)


class HistoryLineOut(BaseModel):
    id: str = Field(description="The line's id; pass it as starting_after for the next page.")
    created_at: datetime
    type: str = Field(description=", ".join(wallet.TYPES) + " (or other).")
    amount: int = Field(description="Signed change of my available balance, in minor units.")
    held: int = Field(description="Signed change of my held balance (escrow, withdrawals under way).")
    currency: str
    status: Literal["pending", "completed", "returned"]
    counterparty: str | None = Field(description="The seller (as buyer), the marketplace (as seller), the card…")
    marketplace: str | None
    subject: str | None = Field(description="The trade's subject.")
    trade_id: str | None
    trade_url: str | None
    reference: str | None


class HistoryPage(BaseModel):
    data: list[HistoryLineOut]
    has_more: bool


def _currency(code: str | None, param: str) -> str | None:
    if code is None:
        return None
    try:
        return currency(code.upper()).code
    except UnsupportedCurrency as error:
        raise UnsupportedCurrency(error.message, param=param) from None


def _instant(value: str | None, param: str, *, end: bool) -> datetime | None:
    """A date (a whole day; ``to`` includes it) or an RFC 3339 date-time (naive means UTC)."""
    if not value:
        return None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime.combine(day + timedelta(days=1 if end else 0), time(), tzinfo=timezone.utc)
        return utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        raise InvalidHistoryFilter(f"{param} must be a date (2026-11-27) or a date-time "
                                   "(2026-11-27T10:00:00Z).", param=param) from None


def history_filter(type: str | None = Query(None, max_length=200, description="Comma-separated types."),
                   currency: str | None = Query(None, min_length=3, max_length=3),
                   from_: str | None = Query(None, alias="from", max_length=40, description="From this date or instant."),
                   to: str | None = Query(None, max_length=40, description="Up to this date (included) or instant.")
                   ) -> wallet.HistoryFilter:
    types = wallet.parse_types(type)
    if len(types) > limits.HISTORY_FILTER_TYPES_MAX:
        raise InvalidHistoryFilter("Too many types in one filter.", param="type")
    return wallet.HistoryFilter(types, _currency(currency, "currency"), _instant(from_, "from", end=False),
                                _instant(to, "to", end=True))


@router.get("/history", response_model=HistoryPage, summary="Payment history: every movement of my money, newest first")
def history(user=Depends(current_user), engine: Engine = Depends(get_engine), settings: Settings = Depends(get_settings),
            found: wallet.HistoryFilter = Depends(history_filter),
            limit: int = Query(limits.PAGE_LIMIT_DEFAULT, ge=1, le=limits.PAGE_LIMIT_MAX),
            starting_after: str | None = Query(None, max_length=64)) -> dict:
    # Reads only, in autocommit: no BEGIN and ROLLBACK around them (PostgreSQL's READ COMMITTED
    # gives each statement its own snapshot either way).
    lines, has_more = run_autocommit(engine, lambda connection: wallet.page(
        connection, user.id, found, limit=limit, starting_after=starting_after))
    return {"data": [line.to_dict(settings.base_url) for line in lines], "has_more": has_more}


@router.get("/history.csv", summary="Payment history as CSV (UTF-8 with BOM, ISO dates, major units)",
            response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {}}, "description": "The history, newest first."}})
def history_csv(user=Depends(current_user), engine: Engine = Depends(get_engine), settings: Settings = Depends(get_settings),
                found: wallet.HistoryFilter = Depends(history_filter)) -> StreamingResponse:
    lines = wallet.iterate(engine.connect, user.id, found, page_size=limits.HISTORY_CSV_PAGE_ROWS,
                           rows_max=limits.HISTORY_CSV_ROWS_MAX)
    return StreamingResponse(wallet.csv_chunks(lines, settings.base_url), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": 'attachment; filename="amanah-history.csv"'})
