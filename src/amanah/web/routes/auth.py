"""Signing in and out: log in (with the two-factor step and, after failures, a captcha), register,
forgot password → e-mailed link → new password, e-mail verification, single sign-on from a
marketplace (asking before it switches accounts), step-up of a marketplace's limited session
("confirm it is you"), log out, and the language switcher."""

from __future__ import annotations

import base64

from fastapi import Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from amanah.api.routing import Router
from amanah.api.user_auth import client_address, session_cookie_name
from amanah.core import limits
from amanah.core.clock import clock
from amanah.core.db import run_in_transaction
from amanah.core.errors import AppError
from amanah.users import service as users
from amanah.users.errors import InvalidLink, TooManyAttempts, TwoFactorRequired
from amanah.web import i18n, messages
from amanah.web.pages import (STEP_UP_PATH, CabinetRoute, check_csrf, check_same_origin, redirect, render,
                              require_user, safe_next, visitor)

router = Router(route_class=CabinetRoute, include_in_schema=False)


def _set_session_cookie(request: Request, response: Response, session: users.Session) -> None:
    cookie = session_cookie_name(request.app.state.settings)
    response.set_cookie(cookie, session.session_id, max_age=limits.SESSION_TTL_S, path="/", httponly=True,
                        secure=cookie.startswith("__Host-"), samesite="lax")


def new_captcha(request: Request) -> dict:
    engine, settings = request.app.state.engine, request.app.state.settings
    made = run_in_transaction(engine, lambda conn: users.create_captcha(conn, settings, now=clock.now()))
    return {"captcha_id": made.captcha_id,
            "captcha_png": "data:image/png;base64," + base64.b64encode(made.image_png).decode("ascii")}


@router.get("/")
def home(request: Request):
    return redirect("/account" if visitor(request).user else "/login")


@router.get("/captcha")
def captcha_fragment(request: Request) -> HTMLResponse:
    """A fresh captcha (htmx swaps it into the form: the "new picture" button)."""
    return render(request, "_captcha.html", **new_captcha(request))


@router.get("/login")
def login_page(request: Request, next: str | None = Query(None, max_length=500)):
    if visitor(request).user:
        return redirect(safe_next(next))
    return render(request, "login.html", email="", next=safe_next(next, ""), error=None, step="password",
                  captcha=None)


@router.post("/login")
def login(request: Request, email: str = Form("", max_length=320), password: str = Form("", max_length=200),
          next: str = Form("", max_length=500), totp_code: str = Form("", max_length=16),
          recovery_code: str = Form("", max_length=40), captcha_id: str = Form("", max_length=64),
          captcha_answer: str = Form("", max_length=32)):
    found = check_same_origin(request)
    engine, settings = request.app.state.engine, request.app.state.settings
    address = client_address(request, settings)
    previous = request.cookies.get(session_cookie_name(settings))
    now = clock.now()

    def work(conn):
        outcome = users.log_in(conn, settings, email=email, password=password, client_address=address,
                               totp_code=totp_code.replace(" ", "") or None, recovery_code=recovery_code or None,
                               captcha_id=captcha_id or None, captcha_answer=captcha_answer or None, now=now)
        if outcome.error:
            return outcome
        return users.Outcome(users.start_session(conn, outcome.value.id, replacing=previous,
                                                 user_agent=request.headers.get("user-agent"), now=now))

    try:
        session = run_in_transaction(engine, work).unwrap()
    except TwoFactorRequired:
        return render(request, "login.html", email=email, password=password, next=next, step="two_factor",
                      error=None, captcha=None)
    except AppError as error:
        two_factor = bool(totp_code or recovery_code) and error.code in ("two_factor_invalid",)
        wants_captcha = isinstance(error, TooManyAttempts) or error.code == "captcha_invalid"
        return render(request, "login.html", status_code=error.http_status, email=email,
                      password=password if two_factor else "", next=next,
                      step="two_factor" if two_factor else "password",
                      error=messages.friendly(error, found.locale),
                      captcha=new_captcha(request) if wants_captcha else None)
    response = redirect(safe_next(next))
    _set_session_cookie(request, response, session)
    return response


@router.post("/logout")
def logout(request: Request, csrf_token: str = Form("", max_length=200)):
    found = check_csrf(request, csrf_token)
    run_in_transaction(found.engine, lambda conn: users.end_session(conn, found.session_id, now=clock.now()))
    response = redirect("/login")
    response.delete_cookie(session_cookie_name(found.settings), path="/")
    return response


@router.get("/register")
def register_page(request: Request):
    return render(request, "register.html", values={}, error=None)


@router.post("/register")
def register(request: Request, email: str = Form("", max_length=320), name: str = Form("", max_length=200),
             password: str = Form("", max_length=200), password_again: str = Form("", max_length=200)):
    found = check_same_origin(request)
    values = {"email": email, "name": name}
    if password != password_again:
        return render(request, "register.html", status_code=400, values=values,
                      error=i18n.gettext("The two passwords are not the same."))
    engine, settings, now = found.engine, found.settings, clock.now()

    def work(conn):
        user = users.register_user(conn, settings, email=email, password=password, name=name,
                                   locale=found.locale, now=now)
        return users.start_session(conn, user.id, user_agent=request.headers.get("user-agent"), now=now)

    try:
        session = run_in_transaction(engine, work)
    except AppError as error:
        return render(request, "register.html", status_code=error.http_status, values=values,
                      error=messages.friendly(error, found.locale))
    response = redirect("/account?welcome=1")
    _set_session_cookie(request, response, session)
    return response


@router.get("/forgot-password")
def forgot_page(request: Request):
    return render(request, "forgot.html", email="", sent=False, error=None, **new_captcha(request))


@router.post("/forgot-password")
def forgot(request: Request, email: str = Form("", max_length=320), captcha_id: str = Form("", max_length=64),
           captcha_answer: str = Form("", max_length=32)):
    found = check_same_origin(request)
    now = clock.now()

    def work(conn) -> bool:
        if not users.consume_captcha(conn, captcha_id, captcha_answer, now=now):
            return False
        users.request_password_reset(conn, email=email, now=now)
        return True

    if not run_in_transaction(found.engine, work):
        return render(request, "forgot.html", status_code=400, email=email, sent=False,
                      error=messages.friendly(AppError("", code="captcha_invalid"), found.locale),
                      **new_captcha(request))
    return render(request, "forgot.html", email=email, sent=True, error=None, captcha_id="", captcha_png="")


@router.get("/reset-password")
def reset_page(request: Request, token: str = Query("", max_length=200)):
    return render(request, "reset.html", token=token, error=None, two_factor=False)


@router.post("/reset-password")
def reset(request: Request, token: str = Form("", max_length=200), password: str = Form("", max_length=200),
          password_again: str = Form("", max_length=200), totp_code: str = Form("", max_length=16)):
    found = check_same_origin(request)
    if password != password_again:
        return render(request, "reset.html", status_code=400, token=token, two_factor=bool(totp_code),
                      error=i18n.gettext("The two passwords are not the same."))
    now = clock.now()
    try:
        run_in_transaction(found.engine, lambda conn: users.confirm_password_reset(
            conn, found.settings, token=token, new_password=password, totp_code=totp_code or None,
            now=now)).unwrap()
    except AppError as error:
        return render(request, "reset.html", status_code=error.http_status, token=token,
                      two_factor=isinstance(error, TwoFactorRequired) or bool(totp_code),
                      error=messages.friendly(error, found.locale))
    response = render(request, "message.html", title=i18n.gettext("Your new password is set"),
                      message=i18n.gettext("You were signed out everywhere. Log in with the new password."),
                      link="/login", link_text=i18n.gettext("Log in"))
    response.delete_cookie(session_cookie_name(found.settings), path="/")
    return response


@router.get("/verify-email")
def verify_email(request: Request, token: str = Query("", max_length=200)):
    found = visitor(request)
    run_in_transaction(found.engine, lambda conn: users.confirm_email(conn, token, now=clock.now()))
    return render(request, "message.html", title=i18n.gettext("Your e-mail address is confirmed"),
                  message=i18n.gettext("Thank you. Your account is ready to use."),
                  link="/account" if found.user else "/login",
                  link_text=i18n.gettext("My account") if found.user else i18n.gettext("Log in"))


@router.get("/sso/login")
def sso_page(request: Request, token: str = Query("", max_length=200), next: str = Query("", max_length=500)):
    """The marketplace's "My Amanah" link. The link is used up by the POST (a button, pressed by
    the page's script at once), so a link previewer fetching the URL cannot burn it. ``next``
    (a path on this site only, e.g. the trade's checkout) is where the buyer lands."""
    return render(request, "sso.html", token=token, next=safe_next(next))


@router.post("/sso/login")
def sso_login(request: Request, token: str = Form("", max_length=200), next: str = Form("", max_length=500),
              switch: str = Form("", max_length=8), csrf_token: str = Form("", max_length=200)):
    """Uses the link up and opens a limited session bound to its platform. A visitor signed in
    as someone else is asked first (a link can be a stranger's, planted to switch them into an
    account they would then pay from): only the answer "continue", carrying the current
    session's CSRF token, switches. A visitor already fully signed in as the link's person
    keeps that session (a link never downgrades it)."""
    check_same_origin(request)
    found = visitor(request)
    previous = request.cookies.get(session_cookie_name(found.settings))
    now = clock.now()
    if found.user is not None:
        with found.engine.connect() as connection:
            other = users.login_link_owner(connection, token, now=now)
        if other is None:
            raise InvalidLink()
        confirmed = switch == "yes" and users.verify_csrf(found.session_id, csrf_token)
        if other.id != found.user.id and not confirmed:
            return render(request, "sso_switch.html", other=other, token=token, next=safe_next(next))

    def work(conn):
        use = users.consume_login_link(conn, token, now=now)
        if found.user is not None and use.user.id == found.user.id and not found.limited:
            return None
        return users.start_session(conn, use.user.id, replacing=previous, platform_id=use.platform_id,
                                   user_agent=request.headers.get("user-agent"), now=now)

    session = run_in_transaction(found.engine, work)
    response = redirect(safe_next(next))
    if session is not None:
        _set_session_cookie(request, response, session)
    return response


@router.get(STEP_UP_PATH)
def step_up_page(request: Request, next: str = Query("", max_length=500)):
    """A session a marketplace opened asks the person for their password (and code) before it
    may move money out or change credentials; a full session goes straight on."""
    found = require_user(request)
    if not found.limited:
        return redirect(safe_next(next))
    return _step_up(request, found, next=safe_next(next))


def _step_up(request: Request, found, *, next: str, status_code: int = 200, step: str = "password",
             password: str = "", error: str | None = None, captcha=None, sent: bool = False):
    with found.engine.connect() as connection:
        platform = _platform_name(connection, found.platform_id)
    if not found.user.has_password and captcha is None and not sent:
        captcha = new_captcha(request)
    return render(request, "step_up.html", status_code=status_code, next=next, step=step, password=password,
                  error=error, captcha=captcha, platform_name=platform, sent=sent)


def _platform_name(connection, platform_id: str) -> str:
    from amanah.platforms import service as platforms

    try:
        return platforms.get_platform(connection, platform_id).name
    except AppError:
        return platform_id


@router.post(STEP_UP_PATH)
def step_up(request: Request, csrf_token: str = Form("", max_length=200), password: str = Form("", max_length=200),
            next: str = Form("", max_length=500), totp_code: str = Form("", max_length=16),
            recovery_code: str = Form("", max_length=40), captcha_id: str = Form("", max_length=64),
            captcha_answer: str = Form("", max_length=32)):
    found = check_csrf(request, csrf_token)
    next = safe_next(next)
    if not found.limited:
        return redirect(next)
    settings, now = found.settings, clock.now()
    try:
        session = run_in_transaction(found.engine, lambda conn: users.step_up(
            conn, settings, found.session_id, password=password, client_address=client_address(request, settings),
            totp_code=totp_code.replace(" ", "") or None, recovery_code=recovery_code or None,
            captcha_id=captcha_id or None, captcha_answer=captcha_answer or None,
            user_agent=request.headers.get("user-agent"), now=now)).unwrap()
    except TwoFactorRequired:
        return _step_up(request, found, next=next, step="two_factor", password=password)
    except AppError as error:
        two_factor = bool(totp_code or recovery_code) and error.code == "two_factor_invalid"
        wants_captcha = isinstance(error, TooManyAttempts) or error.code == "captcha_invalid"
        return _step_up(request, found, next=next, status_code=error.http_status,
                        step="two_factor" if two_factor else "password", password=password if two_factor else "",
                        error=messages.friendly(error, found.locale),
                        captcha=new_captcha(request) if wants_captcha else None)
    response = redirect(next)
    if session is not None:
        _set_session_cookie(request, response, session)
    return response


@router.post(STEP_UP_PATH + "/set-password")
def step_up_by_mail(request: Request, csrf_token: str = Form("", max_length=200), next: str = Form("", max_length=500),
                    captcha_id: str = Form("", max_length=64), captcha_answer: str = Form("", max_length=32)):
    """A person who never chose a password (registered by a marketplace) proves the mailbox
    instead: a link to choose one is e-mailed (behind a captcha, as "forgot password" is)."""
    found = check_csrf(request, csrf_token)
    now = clock.now()

    def work(conn) -> bool:
        if not users.consume_captcha(conn, captcha_id, captcha_answer, now=now):
            return False
        users.request_password_reset(conn, email=found.user.email, now=now)
        return True

    if not run_in_transaction(found.engine, work):
        return _step_up(request, found, next=safe_next(next), status_code=400,
                        error=messages.friendly(AppError("", code="captcha_invalid"), found.locale))
    return _step_up(request, found, next=safe_next(next), sent=True)


@router.post("/language")
def language(request: Request, locale: str = Form("en", max_length=10), next: str = Form("/", max_length=500)):
    check_same_origin(request)
    chosen = i18n.supported(locale) or i18n.DEFAULT_LOCALE
    response = redirect(safe_next(next, "/"))
    response.set_cookie(i18n.LOCALE_COOKIE, chosen, max_age=365 * 24 * 3600, path="/", samesite="lax")
    return response
