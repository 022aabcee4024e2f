"""Checkout of a marketplace trade (the trade's ``checkout_url``), the 3-D Secure round trip, the
trade page (timeline, confirm receipt, dispute), the buyer's orders, and today's rates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi import Form, Query, Request

from amanah.api.routing import Router
from amanah.cards import charges
from amanah.cards import service as cards
from amanah.core.clock import clock
from amanah.core.db import run_in_transaction
from amanah.core.errors import AppError
from amanah.fx import service as fx
from amanah.money import CURRENCIES
from amanah.platforms import service as platforms
from amanah.trades import service as trades
from amanah.trades.states import ESCROW_STATES, TradeStatus
from amanah.web import i18n, messages
from amanah.web.pages import CabinetRoute, StepUpNeeded, check_csrf, redirect, render, require_user, visitor
from amanah.web.routes.account import bind_from_form
from amanah.web.wallet_view import available_in

router = Router(route_class=CabinetRoute, include_in_schema=False)

E_WALLETS = {"alphapay": "AlphaPay", "betawallet": "BetaWallet"}


def _load(found, trade_id: str) -> tuple[trades.Trade, str, str]:
    """The trade the visitor may see, with its seller's and marketplace's names."""
    with found.engine.connect() as connection:
        trade = trades.get_visible(connection, trades.Viewer(user_id=found.user.id), trade_id[:40])
        seller = platforms.get_seller(connection, trade.platform_id, trade.seller_id)
        platform = platforms.get_platform(connection, trade.platform_id)
    return trade, seller.name, platform.name


def _own_platform_only(found, trade: trades.Trade, back: str | None = None) -> None:
    """A session a marketplace opened pays, confirms and disputes that marketplace's orders
    only; anything else first asks the person to confirm it is them."""
    if found.limited and found.platform_id != trade.platform_id:
        raise StepUpNeeded(back)


def _checkout(request: Request, found, trade_id: str, *, error: str | None = None, status_code: int = 200,
              chosen: str = "balance", pay_currency: str | None = None):
    trade, seller_name, platform_name = _load(found, trade_id)
    if trade.status is not TradeStatus.AWAITING_PAYMENT or trade.payment_status == "requires_action":
        if trade.payment_status != "requires_action":
            return redirect(f"/trades/{trade.id}")
    with found.engine.connect() as connection:
        user_cards = cards.list_cards(connection, found.user.id)
    return render(request, "checkout.html", status_code=status_code, trade=trade, seller_name=seller_name,
                  platform_name=platform_name, cards=user_cards, e_wallets=E_WALLETS, error=error, chosen=chosen,
                  pay_currency=pay_currency or trade.currency,
                  balance=available_in(found.engine, found.user.id, trade.currency))


@router.get("/checkout/{trade_id}")
def checkout(request: Request, trade_id: str):
    found = require_user(request)
    trade, _seller, _platform = _load(found, trade_id)
    _own_platform_only(found, trade)
    return _checkout(request, found, trade_id)


@router.get("/checkout/{trade_id}/quote")
def quote(request: Request, trade_id: str, pay_currency: str = Query("", max_length=3)):
    """The live quote (htmx): what the order costs in the currency the buyer picked."""
    found = require_user(request)
    trade, _seller, _platform = _load(found, trade_id)
    code = pay_currency.upper()
    if code not in CURRENCIES or code == trade.currency:
        return render(request, "_quote.html", quote=None, trade=trade, error=None, pay_currency=trade.currency)
    try:
        made = run_in_transaction(found.engine, lambda conn: fx.create_quote(
            conn, sell_currency=code, buy=trade.money, settings=found.settings, now=clock.now(),
            owner_ref=found.user.id))
    except AppError as error:
        return render(request, "_quote.html", quote=None, trade=trade, pay_currency=code,
                      error=messages.friendly(error, found.locale))
    return render(request, "_quote.html", quote=made, trade=trade, error=None, pay_currency=code,
                  balance=available_in(found.engine, found.user.id, code))


@router.post("/checkout/{trade_id}/pay")
def pay(request: Request, trade_id: str, csrf_token: str = Form("", max_length=200),
        source: str = Form("balance", max_length=40), pay_currency: str = Form("", max_length=3),
        quote_id: str = Form("", max_length=40), number: str = Form("", max_length=30),
        expiry: str = Form("", max_length=7), cvc: str = Form("", max_length=4),
        holder_name: str = Form("", max_length=200)):
    found = check_csrf(request, csrf_token)
    trade, _seller, _platform = _load(found, trade_id)
    # Paying with a new card (which stays bound for next time) is part of paying this
    # platform's trade, so a marketplace's session may: the card's holder pays, and nothing can
    # ever move money out *to* a card (withdrawal) without step-up.
    _own_platform_only(found, trade, f"/checkout/{trade.id}")
    code = pay_currency.upper() or trade.currency
    try:
        if source == "new_card":
            source = bind_from_form(found, number=number, expiry=expiry, cvc=cvc, holder_name=holder_name).id
        paying = trades.PayRequest(source, code if code != trade.currency else None,
                                   quote_id or None if code != trade.currency else None,
                                   f"{found.settings.base_url}/checkout/{trade.id}/result")
        if source == "balance":
            paid = run_in_transaction(found.engine, lambda conn: trades.pay_from_balance(
                conn, found.settings, trade.id, found.user.id, paying, now=clock.now()))
        else:
            paid = trades.pay_with_charge(found.engine, found.settings, trade.id, found.user.id, paying,
                                          now=clock.now())
    except AppError as error:
        return _checkout(request, found, trade.id, error=messages.friendly(error, found.locale),
                         status_code=error.http_status, chosen=source, pay_currency=code)
    if paid.payment_status == "requires_action" and paid.charge_id:
        with found.engine.connect() as connection:
            action = charges.get_charge(connection, paid.charge_id).action_url
        return redirect(action)
    return redirect(f"/checkout/{trade.id}/result")


@router.get("/checkout/{trade_id}/result")
def result(request: Request, trade_id: str):
    """Where the buyer lands after paying (or after the bank's 3-D Secure page)."""
    found = require_user(request)
    trade, seller_name, platform_name = _load(found, trade_id)
    return render(request, "result.html", trade=trade, seller_name=seller_name, platform_name=platform_name)


@dataclass(frozen=True)
class Step:
    title: str
    when: datetime | None
    done: bool
    note: str = ""


def timeline(trade: trades.Trade) -> list[Step]:
    _ = i18n.gettext
    steps = [Step(_("Order placed"), trade.created_at, True),
             Step(_("Paid: the money waits in escrow"), trade.paid_at, trade.paid_at is not None)]
    if trade.status is TradeStatus.CLOSED:
        return steps[:1] + [Step(_("Closed without payment"), trade.closed_at, True)]
    tracking = f"{trade.carrier} {trade.tracking_number}" if trade.shipped_at else ""
    steps.append(Step(_("Shipped by the seller"), trade.shipped_at, trade.shipped_at is not None, tracking))
    if trade.status is TradeStatus.DISPUTED:
        steps.append(Step(_("Dispute open: nothing is released until it is settled"), trade.updated_at, True))
    if trade.status is TradeStatus.REFUNDED:
        steps.append(Step(_("Refunded to the buyer"), trade.closed_at or trade.updated_at, True))
    else:
        note = _("Released automatically on this date unless you confirm or dispute earlier.") \
            if trade.release_at and trade.status in ESCROW_STATES else ""
        steps.append(Step(_("Receipt confirmed: the seller is paid"), trade.completed_at or trade.release_at,
                          trade.status is TradeStatus.COMPLETED, note))
    return steps


@router.get("/trades")
def my_trades(request: Request, starting_after: str | None = Query(None, max_length=40)):
    found = require_user(request)
    with found.engine.connect() as connection:
        found_trades, has_more = trades.list_visible(connection, trades.Viewer(user_id=found.user.id), limit=20,
                                                     starting_after=starting_after)
    return render(request, "trades.html", trades=found_trades, has_more=has_more)


@router.get("/trades/{trade_id}")
def trade_page(request: Request, trade_id: str, notice: str = ""):
    found = require_user(request)
    trade, seller_name, platform_name = _load(found, trade_id)
    notices = {"confirmed": i18n.gettext("Thank you! The seller has been paid."),
               "disputed": i18n.gettext("Your dispute is open. The marketplace will look into it.")}
    return render(request, "trade.html", trade=trade, seller_name=seller_name, platform_name=platform_name,
                  steps=timeline(trade), is_buyer=trade.buyer_user_id == found.user.id,
                  can_act=trade.status in (TradeStatus.HELD, TradeStatus.SHIPPED), notice=notices.get(notice),
                  error=None)


@router.post("/trades/{trade_id}/confirm")
def confirm(request: Request, trade_id: str, csrf_token: str = Form("", max_length=200)):
    found = check_csrf(request, csrf_token)
    trade, _seller, _platform = _load(found, trade_id)
    _own_platform_only(found, trade, f"/trades/{trade.id}")
    run_in_transaction(found.engine, lambda conn: trades.confirm(conn, trade.id, found.user.id, now=clock.now()))
    return redirect(f"/trades/{trade.id}?notice=confirmed")


@router.post("/trades/{trade_id}/dispute")
def dispute(request: Request, trade_id: str, csrf_token: str = Form("", max_length=200),
            reason: str = Form("", max_length=1000)):
    found = check_csrf(request, csrf_token)
    trade, _seller, _platform = _load(found, trade_id)
    _own_platform_only(found, trade, f"/trades/{trade.id}")
    if not reason.strip():
        return redirect(f"/trades/{trade.id}")
    run_in_transaction(found.engine, lambda conn: trades.open_dispute(conn, trade.id, found.user.id,
                                                                      reason=reason.strip(), now=clock.now()))
    return redirect(f"/trades/{trade.id}?notice=disputed")


@router.get("/rates")
def rates(request: Request, base: str = Query("USD", max_length=3)):
    found = visitor(request)
    code = base.upper() if base.upper() in CURRENCIES else "USD"
    now = clock.now()
    with found.engine.connect() as connection:
        view = fx.rates_for(connection, code, on=now.date(), age_max_days=found.settings.fx_rate_age_max_days)
    rows = [(other, cross.shown(), cross.as_of) for other, cross in view.rates.items()]
    return render(request, "rates.html", base=code, rows=rows, as_of=view.as_of)
