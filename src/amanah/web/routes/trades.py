"""Checkout of a marketplace trade (the trade's ``checkout_url``), the 3-D Secure round trip, the
trade page (timeline, confirm receipt, dispute), the buyer's orders, and today's rates."""

from __future__ import annotations


from decimal import ROUND_HALF_EVEN, Decimal

from fastapi import Form, Query, Request

from amanah.api.routing import Router
from amanah.cards import charges
from amanah.cards import service as cards
from amanah.core.clock import clock
from amanah.core.db import run_in_transaction
from amanah.core.errors import AppError
from amanah.fx import service as fx
from amanah.money import CURRENCIES, Money, currency
from amanah.platforms import service as platforms
from amanah.trades import service as trades
from amanah.trades.states import TradeStatus
from amanah.web import form_once, i18n, messages
from amanah.web.pages import CabinetRoute, StepUpNeeded, check_csrf, redirect, render, require_user, visitor
from amanah.web.routes.account import bind_from_form
from amanah.web.timeline import timeline
from amanah.web.wallet_view import available_in

router = Router(route_class=CabinetRoute, include_in_schema=False)

E_WALLETS = {"alphapay": "AlphaPay", "betawallet": "BetaWallet"}
RATE_READ_DIGITS = 6
"""Significant digits of a rate shown for reading (the ledger keeps the exact one)."""


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
              chosen: str | None = None, pay_currency: str | None = None):
    trade, seller_name, platform_name = _load(found, trade_id)
    if trade.status is not TradeStatus.AWAITING_PAYMENT or trade.payment_status == "requires_action":
        if trade.payment_status != "requires_action":
            return redirect(f"/trades/{trade.id}")
    with found.engine.connect() as connection:
        user_cards = cards.list_cards(connection, found.user.id)
    code = pay_currency or trade.currency
    balance = available_in(found.engine, found.user.id, code)
    return form_once.cacheable_form(render(
        request, "checkout.html", status_code=status_code, trade=trade, seller_name=seller_name,
        platform_name=platform_name, cards=user_cards, e_wallets=E_WALLETS, error=error,
        chosen=chosen or _default_source(trade, balance, user_cards), pay_currency=code, balance=balance))


def _default_source(trade: trades.Trade, balance: int, user_cards: list) -> str:
    """What checkout offers first: a source that can pay — the balance if it holds the price,
    else the newest card, else a new card (never a balance that would be refused)."""
    if balance >= trade.amount:
        return "balance"
    return user_cards[0].id if user_cards else "new_card"


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
        return render(request, "_quote.html", quote=None, trade=trade, error=None, pay_currency=trade.currency,
                      balance=available_in(found.engine, found.user.id, trade.currency), oob=True)
    try:
        made = run_in_transaction(found.engine, lambda conn: fx.create_quote(
            conn, sell_currency=code, buy=trade.money, settings=found.settings, now=clock.now(),
            owner_ref=found.user.id))
    except AppError as error:
        return render(request, "_quote.html", quote=None, trade=trade, pay_currency=code,
                      error=messages.friendly(error, found.locale), balance=available_in(found.engine, found.user.id, code),
                      oob=True)
    return render(request, "_quote.html", quote=made, trade=trade, error=None, pay_currency=code,
                  balance=available_in(found.engine, found.user.id, code), oob=True)


@router.post("/checkout/{trade_id}/pay")
def pay(request: Request, trade_id: str, csrf_token: str = Form("", max_length=200),
        form_key: str = Form("", max_length=100), source: str = Form("balance", max_length=40), pay_currency: str = Form("", max_length=3),
        quote_id: str = Form("", max_length=40), number: str = Form("", max_length=30),
        expiry: str = Form("", max_length=7), cvc: str = Form("", max_length=4),
        holder_name: str = Form("", max_length=200)):
    found = check_csrf(request, csrf_token)
    trade, _seller, _platform = _load(found, trade_id)
    _own_platform_only(found, trade, f"/checkout/{trade.id}")
    code = pay_currency.upper() or trade.currency

    def work():
        chosen = source
        used_once = None
        try:
            if chosen == "new_card":
                chosen = bind_from_form(found, number=number, expiry=expiry, cvc=cvc, holder_name=holder_name).id
                if found.limited:
                    # A marketplace's session pays with a card typed in here, but does not keep it:
                    # binding a card to the account is the person's own act (step-up), so no
                    # platform can leave a card of its own behind for a later withdrawal.
                    used_once = chosen
            paying = trades.PayRequest(chosen, code if code != trade.currency else None,
                                       quote_id or None if code != trade.currency else None,
                                       f"{found.settings.base_url}/checkout/{trade.id}/result")
            if chosen == "balance":
                paid = run_in_transaction(found.engine, lambda conn: trades.pay_from_balance(
                    conn, found.settings, trade.id, found.user.id, paying, now=clock.now()))
            else:
                paid = trades.pay_with_charge(found.engine, found.settings, trade.id, found.user.id, paying,
                                              now=clock.now())
        except AppError as error:
            return _checkout(request, found, trade.id, error=messages.friendly(error, found.locale),
                             status_code=error.http_status, chosen=source if used_once else chosen, pay_currency=code)
        finally:
            if used_once is not None:  # the charge, once started, no longer needs the card's number
                run_in_transaction(found.engine, lambda conn: cards.delete_card(conn, found.user.id, used_once,
                                                                                now=clock.now()))
        if paid.payment_status == "requires_action" and paid.charge_id:
            with found.engine.connect() as connection:
                action = charges.get_charge(connection, paid.charge_id).action_url
            return redirect(action)
        return redirect(f"/checkout/{trade.id}/result")

    return form_once.once(found, form_key, f"pay {trade.id}", work)


@router.get("/checkout/{trade_id}/result")
def result(request: Request, trade_id: str):
    """Where the buyer lands after paying (or after the bank's 3-D Secure page)."""
    found = require_user(request)
    trade, seller_name, platform_name = _load(found, trade_id)
    return render(request, "result.html", trade=trade, seller_name=seller_name, platform_name=platform_name,
                  charged=_charged(found, trade))


def _charged(found, trade: trades.Trade) -> dict | None:
    """What the payment took, from where, and at which rate (when it was converted): the
    result page says it rather than the order's price in a currency the buyer never paid in."""
    if trade.paid_at is None or not trade.pay_currency or trade.pay_amount is None:
        return None
    source = trade.payment_source or ""
    card = None
    if source.startswith("card_"):
        with found.engine.connect() as connection:
            card = next((c for c in cards.list_cards(connection, found.user.id) if c.id == source), None)
    rate = None
    if trade.pay_currency != trade.currency:
        rate = fx_pair(Money(trade.amount, currency(trade.currency)), Money(trade.pay_amount, currency(trade.pay_currency)))
    return {"amount": trade.pay_amount, "currency": trade.pay_currency, "balance": source == "balance",
            "card": card, "e_wallet": E_WALLETS.get(source.removeprefix("wallet:")), "rate": rate}


def fx_pair(bought: Money, sold: Money) -> tuple[str, Decimal, str]:
    """The rate a conversion was made at, the way people quote it: one unit of the dearer
    currency in the cheaper one ("1 USD = 15,961.2 IDR", not "1 IDR = 0.0000627 USD"), to
    ``RATE_READ_DIGITS`` significant digits."""
    per_unit = sold.to_decimal() / bought.to_decimal()
    base, quote_code = bought.currency.code, sold.currency.code
    if per_unit < 1:
        per_unit, base, quote_code = 1 / per_unit, quote_code, base
    digits = RATE_READ_DIGITS
    shown = per_unit.quantize(Decimal(1).scaleb(per_unit.adjusted() - digits + 1), rounding=ROUND_HALF_EVEN)
    return base, shown.normalize() if shown == shown.to_integral() else shown, quote_code


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
    with found.engine.connect() as connection:
        refunds, disputes = trades.refunds_and_disputes(connection, trade.id)
    notices = {"confirmed": i18n.gettext("Thank you! The seller has been paid."),
               "disputed": i18n.gettext("Your dispute is open. The marketplace will look into it.")}
    return form_once.cacheable_form(render(
        request, "trade.html", trade=trade, seller_name=seller_name, platform_name=platform_name,
        steps=timeline(trade, refunds, disputes), is_buyer=trade.buyer_user_id == found.user.id,
        can_act=trade.status in (TradeStatus.HELD, TradeStatus.SHIPPED), notice=notices.get(notice), error=None))


@router.post("/trades/{trade_id}/confirm")
def confirm(request: Request, trade_id: str, csrf_token: str = Form("", max_length=200),
            form_key: str = Form("", max_length=100)):
    found = check_csrf(request, csrf_token)
    trade, _seller, _platform = _load(found, trade_id)
    _own_platform_only(found, trade, f"/trades/{trade.id}")

    def work():
        run_in_transaction(found.engine, lambda conn: trades.confirm(conn, trade.id, found.user.id, now=clock.now()))
        return redirect(f"/trades/{trade.id}?notice=confirmed")

    return form_once.once(found, form_key, f"confirm {trade.id}", work)


@router.post("/trades/{trade_id}/dispute")
def dispute(request: Request, trade_id: str, csrf_token: str = Form("", max_length=200),
            form_key: str = Form("", max_length=100), reason: str = Form("", max_length=1000)):
    found = check_csrf(request, csrf_token)
    trade, _seller, _platform = _load(found, trade_id)
    _own_platform_only(found, trade, f"/trades/{trade.id}")
    if not reason.strip():  # (before the key: the form, sent again with a reason, still works)
        return redirect(f"/trades/{trade.id}")

    def work():
        run_in_transaction(found.engine, lambda conn: trades.open_dispute(conn, trade.id, found.user.id,
                                                                          reason=reason.strip(), now=clock.now()))
        return redirect(f"/trades/{trade.id}?notice=disputed")

    return form_once.once(found, form_key, f"dispute {trade.id}", work)


@router.get("/rates")
def rates(request: Request, base: str = Query("USD", max_length=3)):
    found = visitor(request)
    code = base.upper() if base.upper() in CURRENCIES else "USD"
    now = clock.now()
    with found.engine.connect() as connection:
        view = fx.rates_for(connection, code, on=now.date(), age_max_days=found.settings.fx_rate_age_max_days)
    rows = [(other, cross.shown(), cross.as_of) for other, cross in view.rates.items()]
    return render(request, "rates.html", base=code, rows=rows, as_of=view.as_of)
