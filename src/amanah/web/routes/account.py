"""My account: balances, edit cards (bind with live validation, delete with a confirmation),
security (change the password, two-factor, sessions: see and end them, e-mail), language.

Cards and security are the person's own: a session a marketplace's sign-on link opened is sent
to step-up first (``require_full_user``), for the pages and for every form on them."""

from __future__ import annotations

from fastapi import Form, Request

from amanah.api.routing import Router
from amanah.cards import service as cards
from amanah.core import service_mode
from amanah.core.clock import clock
from amanah.core.db import run_in_transaction
from amanah.core.errors import AppError, InvalidRequest
from amanah.users import service as users
from amanah.web import i18n, messages
from amanah.web.pages import CabinetRoute, check_full_csrf, redirect, render, require_full_user, require_user
from amanah.web.wallet_view import balances

router = Router(route_class=CabinetRoute, include_in_schema=False)


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
        "password_changed": i18n.gettext("Your password is changed. You were signed out on every other device."),
        "session_ended": i18n.gettext("The session was ended."),
        "other_sessions_ended": i18n.gettext("You were signed out on every other device."),
        "verification_sent": i18n.gettext("A new confirmation link is on its way to your mailbox."),
        "two_factor_off": i18n.gettext("Two-factor sign-in is off."),
    }.get(key)


@router.get("/account/cards")
def cards_page(request: Request, notice: str = ""):
    found = require_full_user(request)
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
    found = check_full_csrf(request, csrf_token, "/account/cards")
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
    found = check_full_csrf(request, csrf_token, "/account/cards")
    run_in_transaction(found.engine, lambda conn: cards.delete_card(conn, found.user.id, card_id[:40], now=clock.now()))
    return redirect("/account/cards?notice=card_deleted")


def _security(request: Request, found, *, status_code: int = 200, notice: str | None = None,
              error: str | None = None, setup=None, recovery_codes=None, password_error: str | None = None):
    with found.engine.connect() as connection:
        signed_in = users.list_sessions(connection, found.user.id, now=clock.now(),
                                        current_session_id=found.session_id)
    return render(request, "security.html", status_code=status_code, notice=notice, error=error, setup=setup,
                  recovery_codes=recovery_codes, password_error=password_error, sessions=signed_in,
                  device=describe_device)


def describe_device(user_agent: str | None) -> str:
    """"Chrome on Linux" from a User-Agent header, in words a person recognises."""
    if not user_agent:
        return i18n.gettext("Unknown device")
    text = user_agent.lower()
    browser = next((name for key, name in (("edg/", "Edge"), ("opr/", "Opera"), ("firefox/", "Firefox"),
                                           ("chrome/", "Chrome"), ("chromium/", "Chromium"), ("safari/", "Safari"),
                                           ("curl/", "curl"), ("python", "Python"))
                    if key in text), None)
    system = next((name for key, name in (("android", "Android"), ("iphone", "iOS"), ("ipad", "iPadOS"),
                                          ("windows", "Windows"), ("mac os", "macOS"), ("linux", "Linux"))
                   if key in text), None)
    if browser and system:
        return i18n.gettext("%(browser)s on %(system)s") % {"browser": browser, "system": system}
    return browser or system or user_agent[:60]


@router.get("/account/security")
def security(request: Request, notice: str = ""):
    found = require_full_user(request)
    return _security(request, found, notice=_notice(notice))


@router.post("/account/security/password")
def change_password(request: Request, csrf_token: str = Form("", max_length=200),
                    current_password: str = Form("", max_length=200), new_password: str = Form("", max_length=200),
                    new_password_again: str = Form("", max_length=200)):
    """Changes the password in place (the current one is required); every other session and
    token of the user ends, this one stays, and a notice is e-mailed."""
    found = check_full_csrf(request, csrf_token, "/account/security")
    if new_password != new_password_again:
        return _security(request, found, status_code=400,
                         password_error=i18n.gettext("The two passwords are not the same."))
    try:
        run_in_transaction(found.engine, lambda conn: users.change_password(
            conn, found.settings, found.user.id, current_password=current_password, new_password=new_password,
            keep_session_id=found.session_id, now=clock.now())).unwrap()
    except AppError as error:
        return _security(request, found, status_code=error.http_status,
                         password_error=messages.friendly(error, found.locale))
    return redirect("/account/security?notice=password_changed")


@router.post("/account/security/sessions/{session_ref}/end")
def end_session(request: Request, session_ref: str, csrf_token: str = Form("", max_length=200)):
    found = check_full_csrf(request, csrf_token, "/account/security")
    run_in_transaction(found.engine, lambda conn: users.end_session_by_id(conn, found.user.id, session_ref[:20],
                                                                          now=clock.now()))
    return redirect("/account/security?notice=session_ended")


@router.post("/account/security/sessions/end-others")
def end_other_sessions(request: Request, csrf_token: str = Form("", max_length=200)):
    found = check_full_csrf(request, csrf_token, "/account/security")
    run_in_transaction(found.engine, lambda conn: users.end_other_sessions(conn, found.user.id, found.session_id,
                                                                           now=clock.now()))
    return redirect("/account/security?notice=other_sessions_ended")


@router.post("/account/security/verify-email")
def resend_verification(request: Request, csrf_token: str = Form("", max_length=200)):
    found = check_full_csrf(request, csrf_token, "/account/security")
    run_in_transaction(found.engine, lambda conn: users.send_email_verification(conn, found.user.id, now=clock.now()))
    return redirect("/account/security?notice=verification_sent")


@router.post("/account/security/two-factor")
def two_factor_begin(request: Request, csrf_token: str = Form("", max_length=200),
                     password: str = Form("", max_length=200)):
    found = check_full_csrf(request, csrf_token, "/account/security")
    try:
        setup = run_in_transaction(found.engine, lambda conn: users.begin_two_factor(
            conn, found.settings, found.user.id, password=password, now=clock.now())).unwrap()
    except AppError as error:
        return _security(request, found, status_code=error.http_status, error=messages.friendly(error, found.locale))
    return _security(request, found, setup=setup)


@router.post("/account/security/two-factor/confirm")
def two_factor_confirm(request: Request, csrf_token: str = Form("", max_length=200), code: str = Form("", max_length=16)):
    found = check_full_csrf(request, csrf_token, "/account/security")
    try:
        codes = run_in_transaction(found.engine, lambda conn: users.confirm_two_factor(
            conn, found.user.id, code=code.replace(" ", ""), now=clock.now()))
    except AppError as error:
        return _security(request, found, status_code=error.http_status, error=messages.friendly(error, found.locale))
    return _security(request, found, recovery_codes=codes)


@router.post("/account/security/two-factor/disable")
def two_factor_disable(request: Request, csrf_token: str = Form("", max_length=200),
                       password: str = Form("", max_length=200), code: str = Form("", max_length=40)):
    found = check_full_csrf(request, csrf_token, "/account/security")
    code = code.replace(" ", "")
    totp, recovery = (code, None) if code.isdigit() else (None, code or None)
    try:
        run_in_transaction(found.engine, lambda conn: users.disable_two_factor(
            conn, found.settings, found.user.id, password=password, totp_code=totp or None, recovery_code=recovery,
            now=clock.now())).unwrap()
    except AppError as error:
        return _security(request, found, status_code=error.http_status, error=messages.friendly(error, found.locale))
    return redirect("/account/security?notice=two_factor_off")
