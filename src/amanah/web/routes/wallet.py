"""My account → top up (card or e-wallet, with 3-D Secure) and withdraw to a card."""

from __future__ import annotations

from fastapi import Form, Request

from amanah.api.routing import Router
from amanah.cards import service as cards
from amanah.core.clock import clock
from amanah.core.errors import AppError
from amanah.money import Money, currency
from amanah.web import form_once, i18n, messages
from amanah.web.pages import CabinetRoute, check_full_csrf, redirect, render, require_full_user, require_user
from amanah.web.routes.trades import E_WALLETS
from amanah.web.wallet_view import balances

router = Router(route_class=CabinetRoute, include_in_schema=False)


def _wallet():
    from amanah.wallet import service as wallet

    return wallet


def _form(request: Request, template: str, found, *, status_code: int = 200, error: str | None = None,
          values: dict | None = None, result: dict | None = None):
    with found.engine.connect() as connection:
        user_cards = cards.list_cards(connection, found.user.id)
    return form_once.cacheable_form(render(
        request, template, status_code=status_code, cards=user_cards, e_wallets=E_WALLETS,
        balances=balances(found.engine, found.user.id), error=error, values=values or {}, result=result))


def _amount(text: str, code: str, locale: str) -> Money:
    return Money.parse(text.strip(), currency(code), i18n.babel_locale(locale))


@router.get("/account/top-up")
def top_up_page(request: Request):
    found = require_full_user(request)
    return _form(request, "topup.html", found)


@router.post("/account/top-up")
@router.post("/account/top-up/send")  # the form's: a POST to the page's own URL would drop it from the back button
def top_up(request: Request, csrf_token: str = Form("", max_length=200), form_key: str = Form("", max_length=100),
           amount: str = Form("", max_length=40), currency_code: str = Form("USD", alias="currency", max_length=3),
           source: str = Form("", max_length=40)):
    found = check_full_csrf(request, csrf_token, "/account/top-up")
    values = {"amount": amount, "currency": currency_code, "source": source}

    def work():
        try:
            wallet = _wallet()
            money = _amount(amount, currency_code, found.locale)
            made = wallet.start_topup(found.engine, found.settings, found.user.id, wallet.TopupRequest(
                money, source, return_url=f"{found.settings.base_url}/account/top-up/done"), now=clock.now(),
                topup_id=form_once.record_id("top", found, form_key))
        except AppError as error:
            return _form(request, "topup.html", found, status_code=error.http_status, values=values,
                         error=messages.friendly(error, found.locale))
        if made["status"] == "requires_action" and made.get("next_action"):
            return redirect(made["next_action"]["url"])
        return redirect(f"/account/top-up/{made['id']}")

    return form_once.once(found, form_key, "top-up", work)


@router.get("/account/top-up/done")
def top_up_back(request: Request):
    """Where the bank's (or e-wallet's) page sends the payer back: the balances tell the outcome."""
    found = require_full_user(request)
    return _form(request, "topup.html", found, result={"status": "returned"})


@router.get("/account/top-up/{topup_id}")
def top_up_result(request: Request, topup_id: str):
    found = require_full_user(request)
    with found.engine.connect() as connection:
        made = _wallet().get_topup(connection, found.user.id, topup_id[:40])
    return _form(request, "topup.html", found, result=made)


@router.get("/account/withdraw")
def withdraw_page(request: Request):
    found = require_full_user(request)
    return _form(request, "withdraw.html", found)


@router.post("/account/withdraw")
@router.post("/account/withdraw/send")  # (as the top-up's)
def withdraw(request: Request, csrf_token: str = Form("", max_length=200), form_key: str = Form("", max_length=100),
             amount: str = Form("", max_length=40), currency_code: str = Form("USD", alias="currency", max_length=3),
             card_id: str = Form("", max_length=40)):
    found = check_full_csrf(request, csrf_token, "/account/withdraw")
    values = {"amount": amount, "currency": currency_code, "card_id": card_id}

    def work():
        try:
            money = _amount(amount, currency_code, found.locale)
            made = _wallet().withdraw(found.engine, found.settings, found.user.id, money, card_id, now=clock.now(),
                                      withdrawal_id=form_once.record_id("wdr", found, form_key))
        except AppError as error:
            return _form(request, "withdraw.html", found, status_code=error.http_status, values=values,
                         error=messages.friendly(error, found.locale))
        return redirect(f"/account/withdraw/{made['id']}")

    return form_once.once(found, form_key, "withdraw", work)


@router.get("/account/withdraw/{withdrawal_id}")
def withdraw_result(request: Request, withdrawal_id: str):
    """What a withdrawal came to (where its form's POST sends the browser; a reload is harmless)."""
    found = require_user(request)
    with found.engine.connect() as connection:
        made = _wallet().get_withdrawal(connection, found.user.id, withdrawal_id[:40])
    return _form(request, "withdraw.html", found, result=made)
