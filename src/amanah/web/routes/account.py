"""My account: balances, edit cards (bind with live validation, delete with a confirmation),
security (password, two-factor, this session, e-mail), language."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request

from amanah.cards import service as cards
from amanah.core import service_mode
from amanah.core.clock import clock
from amanah.core.db import run_in_transaction
from amanah.core.errors import AppError, InvalidRequest
from amanah.users import service as users
from amanah.web import i18n, messages
from amanah.web.pages import CabinetRoute, check_csrf, redirect, render, require_user
from amanah.web.wallet_view import balances

router = APIRouter(route_class=CabinetRoute, include_in_schema=False)


@router.get("/account")
def account(request: Request, welcome: int = 0, notice: str = ""):
    found = require_user(request)
    with found.engine.connect() as connection:
        user_cards = cards.list_cards(connection, found.user.id)
    return render(request, "account.html", balances=balances(found.engine, found.user.id), cards=user_cards,
                  welcome=bool(welcome), notice=_notice(notice))


def _notice(key: str) -> str | None:
    return {
        "card_added": i18n.gettext("The card is bound to your account."),
        "card_deleted": i18n.gettext("The card was deleted."),
        "password_link": i18n.gettext("We have e-mailed you a link to choose a new password."),
        "verification_sent": i18n.gettext("A new confirmation link is on its way to your mailbox."),
        "two_factor_off": i18n.gettext("Two-factor sign-in is off."),
    }.get(key)


@router.get("/account/cards")
def cards_page(request: Request, notice: str = ""):
    found = require_user(request)
    with found.engine.connect() as connection:
        user_cards = cards.list_cards(connection, found.user.id)
    return render(request, "cards.html", cards=user_cards, notice=_notice(notice), error=None, values={})


def _int(text: str, param: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise InvalidRequest(i18n.gettext("Please check the card details."), code="invalid_card", param=param) from None


def bind_from_form(found, *, number: str, expiry: str, cvc: str, holder_name: str) -> cards.Card:
    """Binds a card typed into a form (``expiry`` is ``MM/YY``), refusing while winding down."""
    month, _, year = expiry.replace(" ", "").partition("/")
    refuse = lambda connection: service_mode.refuse_new_business(connection, "Binding new cards")  # noqa: E731
    with found.engine.connect() as connection:
        refuse(connection)
    return cards.bind_card(found.engine, found.settings, user_id=found.user.id, number=number,
                           exp_month=_int(month, "exp_month"), exp_year=_int(year, "exp_year"), cvc=cvc.strip(),
                           holder_name=holder_name, now=clock.now(), before_insert=refuse)


@router.post("/account/cards")
def bind(request: Request, csrf_token: str = Form("", max_length=200), number: str = Form("", max_length=30),
         expiry: str = Form("", max_length=7), cvc: str = Form("", max_length=4),
         holder_name: str = Form("", max_length=200)):
    found = check_csrf(request, csrf_token)
    try:
        bind_from_form(found, number=number, expiry=expiry, cvc=cvc, holder_name=holder_name)
    except AppError as error:
        with found.engine.connect() as connection:
            user_cards = cards.list_cards(connection, found.user.id)
        return render(request, "cards.html", status_code=error.http_status, cards=user_cards, notice=None,
                      error=messages.friendly(error, found.locale), values={"expiry": expiry, "holder_name": holder_name})
    return redirect("/account/cards?notice=card_added")


@router.post("/account/cards/{card_id}/delete")
def delete(request: Request, card_id: str, csrf_token: str = Form("", max_length=200)):
    found = check_csrf(request, csrf_token)
    run_in_transaction(found.engine, lambda conn: cards.delete_card(conn, found.user.id, card_id[:40], now=clock.now()))
    return redirect("/account/cards?notice=card_deleted")


@router.get("/account/security")
def security(request: Request, notice: str = ""):
    require_user(request)
    return render(request, "security.html", notice=_notice(notice), error=None, setup=None, recovery_codes=None)


@router.post("/account/security/password")
def password_link(request: Request, csrf_token: str = Form("", max_length=200)):
    """Changing the password goes through the e-mailed link (the same single-use link as "forgot
    password"): it proves the mailbox too, and setting it signs out every other session."""
    found = check_csrf(request, csrf_token)
    run_in_transaction(found.engine, lambda conn: users.request_password_reset(conn, email=found.user.email,
                                                                               now=clock.now()))
    return redirect("/account/security?notice=password_link")


@router.post("/account/security/verify-email")
def resend_verification(request: Request, csrf_token: str = Form("", max_length=200)):
    found = check_csrf(request, csrf_token)
    run_in_transaction(found.engine, lambda conn: users.send_email_verification(conn, found.user.id, now=clock.now()))
    return redirect("/account/security?notice=verification_sent")


@router.post("/account/security/two-factor")
def two_factor_begin(request: Request, csrf_token: str = Form("", max_length=200),
                     password: str = Form("", max_length=200)):
    found = check_csrf(request, csrf_token)
    try:
        setup = run_in_transaction(found.engine, lambda conn: users.begin_two_factor(
            conn, found.settings, found.user.id, password=password, now=clock.now())).unwrap()
    except AppError as error:
        return render(request, "security.html", status_code=error.http_status, notice=None, setup=None,
                      recovery_codes=None, error=messages.friendly(error, found.locale))
    return render(request, "security.html", notice=None, error=None, setup=setup, recovery_codes=None)


@router.post("/account/security/two-factor/confirm")
def two_factor_confirm(request: Request, csrf_token: str = Form("", max_length=200), code: str = Form("", max_length=16)):
    found = check_csrf(request, csrf_token)
    try:
        codes = run_in_transaction(found.engine, lambda conn: users.confirm_two_factor(
            conn, found.user.id, code=code.replace(" ", ""), now=clock.now()))
    except AppError as error:
        return render(request, "security.html", status_code=error.http_status, notice=None, setup=None,
                      recovery_codes=None, error=messages.friendly(error, found.locale))
    return render(request, "security.html", notice=None, error=None, setup=None, recovery_codes=codes)


@router.post("/account/security/two-factor/disable")
def two_factor_disable(request: Request, csrf_token: str = Form("", max_length=200),
                       password: str = Form("", max_length=200), code: str = Form("", max_length=40)):
    found = check_csrf(request, csrf_token)
    code = code.replace(" ", "")
    totp, recovery = (code, None) if code.isdigit() else (None, code or None)
    try:
        run_in_transaction(found.engine, lambda conn: users.disable_two_factor(
            conn, found.settings, found.user.id, password=password, totp_code=totp or None, recovery_code=recovery,
            now=clock.now())).unwrap()
    except AppError as error:
        return render(request, "security.html", status_code=error.http_status, notice=None, setup=None,
                      recovery_codes=None, error=messages.friendly(error, found.locale))
    return redirect("/account/security?notice=two_factor_off")
