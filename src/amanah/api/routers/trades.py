"""Marketplace trades (escrow): the platform API and the buyer's and seller's actions."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import Depends, Query, Request, Response
from pydantic import BaseModel, EmailStr, Field, TypeAdapter
from sqlalchemy.engine import Engine

from amanah.api import idempotency
from amanah.api.amounts import whole_numbers
from amanah.api.auth import require_platform
from amanah.api.callers import Caller, platform_or_user
from amanah.api.deps import get_engine, get_now, get_settings, run_money_movement
from amanah.api.links import TRADE_ACTIONS, links
from amanah.api.routing import Router
from amanah.api.user_auth import (
    STEP_UP,
    LookUpInStatement,
    UserAuth,
    UserCredentials,
    authenticate,
    current_auth,
    current_user,
    refuse_other_platform,
    require_full_session,
    user_credentials,
)
from amanah.core import ids, limits
from amanah.core.config import Settings
from amanah.core.db import run_in_transaction
from amanah.core.errors import AppError, CommitOutcomeUnknown, PermissionDenied
from amanah.money import Money, currency
from amanah.platforms import service as platforms
from amanah.trades import service as trades
from amanah.trades.service.refunds import finish_refund_to_source, finish_refunds_of

router = Router(prefix="/v1", tags=["trades"])


class Buyer(BaseModel):
    platform_user_id: str = Field(min_length=1, max_length=64)
    email: EmailStr
    name: str | None = Field(None, max_length=200)


class Fee(BaseModel):
    bps: int | None = Field(None, ge=0, le=10_000, description="Basis points of the amount (250 = 2.5%).")
    amount: int | None = Field(None, ge=0, description="A fixed fee in minor units of the trade's currency.")

    _whole = whole_numbers("bps", "amount")


class TradeCreate(BaseModel):
    out_trade_no: str = Field(min_length=1, max_length=64, pattern=limits.REFERENCE_PATTERN,
                              description="The platform's own order number; unique per platform. Visible ASCII "
                                          "characters only (letters, digits, punctuation; no spaces).")
    seller_id: str = Field(max_length=40)
    buyer: Buyer
    amount: int = Field(gt=0, le=limits.AMOUNT_MAX_MINOR, description="Minor units of `currency`.")
    currency: str = Field(min_length=3, max_length=3)
    subject: str = Field(min_length=1, max_length=256)
    protection_days: int = Field(limits.TRADE_PROTECTION_DAYS_DEFAULT, ge=1, le=limits.TRADE_PROTECTION_DAYS_MAX)
    fee: Fee | None = None

    _whole = whole_numbers("amount")


class TradeBuyer(BaseModel):
    user_id: str
    platform_user_id: str


class TradeFee(BaseModel):
    bps: int | None
    amount: int | None


class TradePayment(BaseModel):
    status: str = Field(description="processing, requires_action, succeeded, failed or credited_to_balance.")
    source: str | None
    pay_currency: str | None
    pay_amount: int | None
    quote_id: str | None
    failure_code: str | None
    paid_at: datetime | None
    next_action: dict | None = Field(None, description="`{type: redirect_to_url, url}` while requires_action.")


class TradeShipping(BaseModel):
    carrier: str | None
    tracking_number: str | None
    shipped_at: datetime | None


class TradeOut(BaseModel):
    id: str
    out_trade_no: str
    status: Literal["awaiting_payment", "held", "shipped", "disputed", "completed", "refunded", "closed"]
    seller_id: str
    buyer: TradeBuyer
    amount: int
    currency: str
    subject: str
    protection_days: int
    fee: TradeFee
    held_amount: int
    refunded_amount: int
    fee_amount: int
    payment: TradePayment | None
    shipping: TradeShipping | None
    release_at: datetime | None
    expires_at: datetime
    completed_at: datetime | None
    closed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    checkout_url: str


class TradeList(BaseModel):
    data: list[TradeOut]
    has_more: bool


def _out(engine: Engine, settings: Settings, trade: trades.Trade) -> dict:
    payload = trades.trade_payload(trade, base_url=settings.base_url)
    if trade.payment_status == "requires_action" and trade.charge_id:
        from amanah.cards import charges

        with engine.connect() as connection:
            charge = charges.get_charge(connection, trade.charge_id)
        payload["payment"]["next_action"] = {"type": "redirect_to_url", "url": charge.action_url}
    return payload


@router.post("/trades", status_code=201, response_model=TradeOut, summary="Open a trade (platform)",
             responses=links("trade_id", TRADE_ACTIONS))
def create_trade(body: TradeCreate, platform=Depends(require_platform), engine: Engine = Depends(get_engine),
                 settings: Settings = Depends(get_settings), now: datetime = Depends(get_now)) -> dict:
    fee = body.fee or Fee()
    new = trades.NewTrade(
        out_trade_no=body.out_trade_no, seller_id=body.seller_id, buyer_platform_user_id=body.buyer.platform_user_id,
        buyer_email=str(body.buyer.email), buyer_name=body.buyer.name,
        amount=Money(body.amount, currency(body.currency)), subject=body.subject,
        protection_days=body.protection_days, fee_bps=fee.bps, fee_fixed=fee.amount)
    trade, _created = run_in_transaction(engine, lambda c: trades.create_trade(c, platform.id, new, now=now))
    return _out(engine, settings, trade)


@router.get("/trades/{trade_id}", response_model=TradeOut, summary="A trade (its platform, buyer or seller)")
def get_trade(trade_id: str, caller: Caller = Depends(platform_or_user), engine: Engine = Depends(get_engine),
              settings: Settings = Depends(get_settings)) -> dict:
    with engine.connect() as connection:
        return _out(engine, settings, trades.get_visible(connection, _viewer(caller), trade_id))


@router.get("/trades", response_model=TradeList, summary="Trades, newest first (filter by out_trade_no, status)")
def list_trades(caller: Caller = Depends(platform_or_user), engine: Engine = Depends(get_engine),
                settings: Settings = Depends(get_settings),
                limit: int = Query(limits.PAGE_LIMIT_DEFAULT, ge=1, le=limits.PAGE_LIMIT_MAX),
                starting_after: str | None = Query(None, max_length=40),
                out_trade_no: str | None = Query(None, max_length=64),
                status: str | None = Query(None, max_length=24)) -> dict:
    with engine.connect() as connection:
        found, has_more = trades.list_visible(connection, _viewer(caller), limit=limit, starting_after=starting_after,
                                              out_trade_no=out_trade_no, status=status)
    return {"data": [_out(engine, settings, trade) for trade in found], "has_more": has_more}


def _viewer(caller: Caller) -> trades.Viewer:
    if caller.platform is not None:
        return trades.Viewer(platform_id=caller.platform.id)
    return trades.Viewer(user_id=caller.user.id)


class PayBody(BaseModel):
    source: str = Field(max_length=40, description='"balance", a card id "card_…" or "wallet:<provider>".')
    pay_currency: str | None = Field(None, min_length=3, max_length=3,
                                     description="Pay in this currency (converted at a locked quote).")
    quote_id: str | None = Field(None, max_length=40, description="A quote from POST /v1/fx/quotes to lock.")
    return_url: str | None = Field(None, max_length=500, description="Where 3-D Secure or the e-wallet sends the buyer back.")


_TRADE_OUT = TypeAdapter(TradeOut)


def _trade_json(engine: Engine, settings: Settings, trade: trades.Trade) -> bytes:
    """A ``TradeOut`` answer's body, as FastAPI writes one (validated, then Pydantic's JSON),
    made in the endpoint's own thread: FastAPI validates a sync endpoint's answer in a thread
    hop of its own. Sent as ``_json``."""
    return _TRADE_OUT.dump_json(_TRADE_OUT.validate_python(_out(engine, settings, trade)), by_alias=True)


def _json(body: bytes) -> Response:
    return Response(body, media_type="application/json")


@router.post("/trades/{trade_id}/pay", response_model=TradeOut, summary="Pay for a trade (buyer)",
             responses=links("trade_id", TRADE_ACTIONS, status=200))
def pay(trade_id: str, body: PayBody, http: Request, credentials: UserCredentials = Depends(user_credentials),
        engine: Engine = Depends(get_engine), settings: Settings = Depends(get_settings),
        now: datetime = Depends(get_now)) -> Response:
    """An Idempotency-Key is claimed here (``idempotency.Claim``): by the one statement that
    pays, or else before any other work."""
    claim = idempotency.claim_of(http.scope)
    # The caller is looked up by the fast path's read of the trade when it makes one, else by
    # ``authenticate``: here, not in a thread hop of its own (issue #10).
    if credentials.session_id is not None:  # a cabinet session may be a marketplace's limited one
        _refuse_other_platform(engine, authenticate(engine, credentials), trade_id)
    caller = LookUpInStatement(credentials, now)
    request = trades.PayRequest(body.source, body.pay_currency.upper() if body.pay_currency else None,
                                body.quote_id, body.return_url)
    unsettled = None
    if body.source == "balance" and not settings.group_commit:  # group commit shares commits instead
        try:
            paid = _pay_at_once(engine, settings, trade_id, caller, request, now, claim)
        except AppError as error:
            if claim is None or caller.user_id is None:  # (a caller refused hears nothing of the key)
                raise
            # The key is looked at first: a repeat of a payment made is answered from it, and a
            # lost connection's payment was made exactly if the key was recorded with it.
            paid, unsettled = None, error
        if paid is not None:
            return paid
    user_id = caller.user_id or authenticate(engine, credentials).user.id
    if claim is not None:
        try:
            answer = claim.begin(engine)
        except AppError:
            if isinstance(unsettled, CommitOutcomeUnknown):
                raise unsettled from None  # not "nothing was changed": the payment may have been made
            raise
        if answer is not None:
            return answer
    if body.source == "balance":
        recorded = b""

        def answer(connection, held: trades.Trade) -> None:  # (run again if the transaction is)
            nonlocal recorded
            recorded = _trade_json(engine, settings, held)
            claim.store_in(connection, recorded)

        trade = run_money_movement(engine, settings, lambda c: trades.pay_from_balance(
            c, settings, trade_id, user_id, request, now=now, also=answer if claim else None))
        if claim is not None and claim.stored:
            return _json(recorded)  # the answer stored with the payment
    else:
        trade = trades.pay_with_charge(engine, settings, trade_id, user_id, request, now=now)
    return _json(_trade_json(engine, settings, trade))


idempotency.claims_in_endpoint(next(route.path_regex for route in router.routes if route.endpoint is pay))  # see pay()


def _pay_at_once(engine: Engine, settings: Settings, trade_id: str, caller: LookUpInStatement,
                 request: trades.PayRequest, now: datetime, claim: idempotency.Claim | None) -> Response | None:
    """The answer when the trade was paid in one statement (PostgreSQL), which also recorded
    the key with that answer; None when it was not, and the transaction must decide."""
    recorded = b""

    def answer(held: trades.Trade) -> dict:  # (run again if the statement is)
        nonlocal recorded
        recorded = _trade_json(engine, settings, held)
        return claim.answer_values(recorded, now)

    also = trades.AlsoWrite(idempotency.recorded_with, answer, idempotency.taken) if claim else None
    buyer = trades.BuyerLookUp(caller.owner, caller.values, caller.judged)
    trade = trades.pay_from_balance_at_once(engine, trade_id, buyer, request, now=now, also=also)
    if trade is None:
        return None
    if claim is None:
        return _json(_trade_json(engine, settings, trade))
    claim.stored = True
    return _json(recorded)  # the answer recorded with the key


class ShipBody(BaseModel):
    carrier: str = Field(min_length=1, max_length=64)
    tracking_number: str = Field(min_length=1, max_length=64)


@router.post("/trades/{trade_id}/ship", response_model=TradeOut, summary="Mark shipped (platform or seller)",
             responses=links("trade_id", TRADE_ACTIONS, status=200))
def ship(trade_id: str, body: ShipBody, caller: Caller = Depends(platform_or_user), engine: Engine = Depends(get_engine),
         settings: Settings = Depends(get_settings), now: datetime = Depends(get_now)) -> dict:
    def work(connection):
        _platform_or_seller(connection, caller, trade_id, "ship it")
        return trades.ship(connection, trade_id, carrier=body.carrier, tracking_number=body.tracking_number, now=now)

    return _out(engine, settings, run_in_transaction(engine, work))


def _platform_or_seller(connection, caller: Caller, trade_id: str, action: str) -> trades.Trade:
    trade = trades.get_visible(connection, _viewer(caller), trade_id)
    if caller.user is not None and caller.user.id != trade.seller_user_id:
        raise PermissionDenied(f"Only the platform or the seller can {action}.", code="not_the_seller")
    if caller.user is not None:
        refuse_other_platform(UserAuth(caller.user, platform_id=caller.session_platform_id), trade.platform_id)
    return trade


def _refuse_other_platform(engine: Engine, auth: UserAuth, trade_id: str) -> None:
    """A limited (marketplace) session pays, confirms and disputes only that platform's trades."""
    if auth.limited:
        with engine.connect() as connection:
            trade = trades.get_visible(connection, trades.Viewer(user_id=auth.user.id), trade_id)
        refuse_other_platform(auth, trade.platform_id)


@router.post("/trades/{trade_id}/confirm", response_model=TradeOut, summary="Confirm receipt (buyer)")
def confirm(trade_id: str, auth: UserAuth = Depends(current_auth), engine: Engine = Depends(get_engine),
            settings: Settings = Depends(get_settings), now: datetime = Depends(get_now)) -> dict:
    user = auth.user

    def work(connection):
        trade = trades.get_visible(connection, trades.Viewer(user_id=user.id), trade_id)
        refuse_other_platform(auth, trade.platform_id)
        return trades.confirm(connection, trade_id, user.id, now=now)

    return _out(engine, settings, run_money_movement(engine, settings, work))


class RefundBody(BaseModel):
    amount: int = Field(gt=0, le=limits.AMOUNT_MAX_MINOR)
    reason: str = Field("", max_length=500, pattern=limits.FREE_TEXT_PATTERN,
                        description="Free text; no control or bidirectional-override characters.")

    _whole = whole_numbers("amount")


class RefundOut(BaseModel):
    id: str
    trade_id: str
    amount: int
    currency: str
    reason: str
    source: str = Field(description="escrow (before completion) or seller_balance (after).")
    destination: str = Field(description="source (back to the card or e-wallet paid with) or balance.")
    status: str = Field(description="succeeded, or processing while the card network answers.")
    failure_code: str | None = Field(None, description="Why it could not go back to the card (it stayed on the balance).")
    seller_amount: int | None = Field(None, description="After completion: the part that came back from the seller's "
                                      "balance (in proportion to what the trade paid them, rounded down); null out of escrow.")
    fee_refund_amount: int | None = Field(None, description="After completion: the part of the platform's fee given "
                                          "back from its fee account; null out of escrow.")
    created_at: datetime
    trade: TradeOut


@router.post("/trades/{trade_id}/refunds", status_code=201, response_model=RefundOut,
             responses=links("trade_id", TRADE_ACTIONS, source="$response.body#/trade_id"),
             summary="Refund all or part (platform or seller)")
def refund(trade_id: str, body: RefundBody, request: Request, caller: Caller = Depends(platform_or_user),
           engine: Engine = Depends(get_engine), settings: Settings = Depends(get_settings),
           now: datetime = Depends(get_now)) -> dict:
    scope = caller.platform.id if caller.platform else caller.user.id
    refund_id = ids.for_request("ref", f"{trade_id}:{scope}", request.headers.get("Idempotency-Key"))

    def work(connection):
        _platform_or_seller(connection, caller, trade_id, "refund")
        return trades.refund(connection, trade_id, amount=body.amount, reason=body.reason, now=now,
                             refund_id=refund_id)

    trade, record = run_money_movement(engine, settings, work)
    if record["status"] == "processing":  # on its way back to the card or e-wallet
        record = finish_refund_to_source(engine, settings, record["id"], now=now)
        trade = run_in_transaction(engine, lambda c: trades.load(c, trade_id))
    return {**record, "trade": _out(engine, settings, trade)}


class DisputeBody(BaseModel):
    reason: str = Field(min_length=1, max_length=1000)


@router.post("/trades/{trade_id}/dispute", response_model=TradeOut, summary="Open a dispute (buyer)",
             responses=links("trade_id", TRADE_ACTIONS, status=200))
def dispute(trade_id: str, body: DisputeBody, auth: UserAuth = Depends(current_auth),
            engine: Engine = Depends(get_engine), settings: Settings = Depends(get_settings),
            now: datetime = Depends(get_now)) -> dict:
    user = auth.user

    def work(connection):
        trade = trades.get_visible(connection, trades.Viewer(user_id=user.id), trade_id)
        refuse_other_platform(auth, trade.platform_id)
        return trades.open_dispute(connection, trade_id, user.id, reason=body.reason, now=now)

    return _out(engine, settings, run_in_transaction(engine, work))


class ResolveBody(BaseModel):
    outcome: Literal["refund_buyer", "release_seller", "split"]
    buyer_amount: int | None = Field(None, gt=0, description="With split: what goes back to the buyer.")

    _whole = whole_numbers("buyer_amount")


@router.post("/trades/{trade_id}/dispute/resolve", response_model=TradeOut, summary="Settle a dispute (platform)")
def resolve(trade_id: str, body: ResolveBody, platform=Depends(require_platform), engine: Engine = Depends(get_engine),
            settings: Settings = Depends(get_settings), now: datetime = Depends(get_now)) -> dict:
    def work(connection):
        trades.get_visible(connection, trades.Viewer(platform_id=platform.id), trade_id)
        return trades.resolve(connection, trade_id, outcome=body.outcome, buyer_amount=body.buyer_amount, now=now)

    trade = run_money_movement(engine, settings, work)
    if trade.refunded_amount:
        finish_refunds_of(engine, settings, trade_id, now=now)
    return _out(engine, settings, trade)


@router.post("/trades/{trade_id}/cancel", response_model=TradeOut, summary="Cancel an unpaid trade (platform)")
def cancel(trade_id: str, platform=Depends(require_platform), engine: Engine = Depends(get_engine),
           settings: Settings = Depends(get_settings), now: datetime = Depends(get_now)) -> dict:
    def work(connection):
        trades.get_visible(connection, trades.Viewer(platform_id=platform.id), trade_id)
        return trades.cancel(connection, trade_id, now=now)

    return _out(engine, settings, run_in_transaction(engine, work))


class SellerCreate(BaseModel):
    platform_seller_id: str = Field(min_length=1, max_length=64)
    email: EmailStr
    name: str = Field(min_length=1, max_length=200)


class SellerOut(BaseModel):
    id: str
    platform_seller_id: str
    user_id: str
    name: str
    email: str
    status: Literal["active", "pending", "declined"] = Field(
        description="active: trades may name it; pending: the e-mail has an account whose owner was asked to "
                    "accept; declined: they said no. A trade naming a seller that is not active is 409 "
                    "seller_not_active.")
    created_at: datetime


@router.post("/sellers", status_code=201, response_model=SellerOut, tags=["sellers"],
             responses=links("seller_id", {"GetSeller": ("GET", "/v1/sellers/{seller_id}")}),
             summary="Register (or return) the account of one of the platform's sellers")
def create_seller(body: SellerCreate, platform=Depends(require_platform), engine: Engine = Depends(get_engine),
                  now: datetime = Depends(get_now)) -> dict:
    seller, _created = run_in_transaction(engine, lambda c: platforms.register_seller(
        c, platform.id, platform_seller_id=body.platform_seller_id, email=str(body.email), name=body.name, now=now))
    return seller.to_dict()


@router.get("/sellers/{seller_id}", response_model=SellerOut, tags=["sellers"], summary="One of the platform's sellers")
def get_seller(seller_id: str, platform=Depends(require_platform), engine: Engine = Depends(get_engine)) -> dict:
    with engine.connect() as connection:
        return platforms.get_seller(connection, platform.id, seller_id).to_dict()


class SellerLinkOut(BaseModel):
    seller_id: str
    platform: str = Field(description="The marketplace's name.")
    name: str = Field(description="The shop's name the marketplace gave.")
    status: Literal["active", "pending", "declined"]


class SellerLinkList(BaseModel):
    data: list[SellerLinkOut]


@router.get("/me/seller-links", response_model=SellerLinkList, tags=["sellers"],
            summary="Marketplaces asking to register the caller as their seller, and the caller's seller links")
def list_seller_links(user=Depends(current_user), engine: Engine = Depends(get_engine)) -> dict:
    with engine.connect() as connection:
        return {"data": [link.to_dict() for link in platforms.seller_links(connection, user.id)]}


def _decide(seller_id: str, auth: UserAuth, engine: Engine, now: datetime, *, accept: bool) -> dict:
    def work(connection):
        require_full_session(auth)
        return platforms.decide_seller_link(connection, auth.user.id, seller_id, accept=accept, now=now)

    return run_in_transaction(engine, work).to_dict()


@router.post("/me/seller-links/{seller_id}/accept", response_model=SellerLinkOut, tags=["sellers"], responses=STEP_UP,
             summary="Agree to be the marketplace's seller: trades may name you (webhook seller.activated)")
def accept_seller_link(seller_id: str, auth: UserAuth = Depends(current_auth), engine: Engine = Depends(get_engine),
                       now: datetime = Depends(get_now)) -> dict:
    return _decide(seller_id, auth, engine, now, accept=True)


@router.post("/me/seller-links/{seller_id}/decline", response_model=SellerLinkOut, tags=["sellers"], responses=STEP_UP,
             summary="Refuse (or end) a marketplace's seller link: no new trade may name you")
def decline_seller_link(seller_id: str, auth: UserAuth = Depends(current_auth), engine: Engine = Depends(get_engine),
                        now: datetime = Depends(get_now)) -> dict:
    return _decide(seller_id, auth, engine, now, accept=False)


class LoginLinkCreate(BaseModel):
    platform_user_id: str = Field(min_length=1, max_length=64)
    email: EmailStr


class LoginLink(BaseModel):
    url: str
    expires_in_s: int


@router.post("/sso/login-links", response_model=LoginLink, tags=["sso"],
             responses={403: {"description": "`sso_not_allowed`: the buyer was neither registered by this platform "
                                             "nor has paid one of its trades, or has set a password and not let this "
                                             "platform sign them in (My account → Marketplaces)"},
                        404: {"description": "No buyer with that id and e-mail at this platform"}},
             summary="A single-use, short-lived link logging the platform's buyer into the cabinet (My Alipay)")
def login_link(body: LoginLinkCreate, platform=Depends(require_platform), engine: Engine = Depends(get_engine),
               settings: Settings = Depends(get_settings), now: datetime = Depends(get_now)) -> dict:
    """The session the link opens is limited: it reads the buyer's account and pays, confirms
    and disputes this platform's trades; binding a card, withdrawing, top-ups, credentials and
    consents need the person's password (and two-factor code) first, 403 `step_up_required`."""
    from amanah.users import service as users

    def work(connection):
        user = platforms.buyer_for_login_link(connection, platform.id, platform_user_id=body.platform_user_id,
                                              email=str(body.email))
        return users.create_login_link(connection, platform_id=platform.id, user_id=user.id,
                                       base_url=settings.base_url, now=now)

    return {"url": run_in_transaction(engine, work), "expires_in_s": limits.LOGIN_LINK_TTL_S}
