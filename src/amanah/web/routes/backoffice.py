"""The back office (``/backoffice``): operators' pages, server-rendered with the cabinet's
templates machinery (``web/pages.py``: Jinja environment, security headers, same-origin checks),
English only.

Sign-in is an operator account's own session cookie (HttpOnly, SameSite=Strict, Secure and
``__Host-`` when the site is https), opened by e-mail + password + TOTP code together. A page
without that session sends the browser to the log-in page; a form without it, or without the
session's CSRF token, is refused (403). An operator API key or a cabinet session opens nothing
here. Every action goes through ``backoffice.actions`` (its audit row in the same transaction).
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlencode

from fastapi import File, Form, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from amanah import ledger
from amanah.api.routing import Router
from amanah.api.user_auth import CSRF_HEADER, client_address
from amanah.backoffice import actions, queries
from amanah.core import limits, service_mode
from amanah.core.clock import clock
from amanah.core.db import run_in_transaction
from amanah.core.errors import AppError, InvalidRequest, PermissionDenied
from amanah.fx import service as fx
from amanah.money import Money
from amanah.operators import service as operators
from amanah.reports import liabilities
from amanah.trades import service as trades
from amanah.trades.service.refunds import finish_refunds_of
from amanah.users import service as users
from amanah.users.errors import TooManyAttempts
from amanah.users.service.tokens import csrf_token_for
from amanah.wallet import service as wallet
from amanah.web.pages import check_same_origin, redirect, render, safe_next, sign_in_first

log = logging.getLogger("amanah.backoffice")
PREFIX = "/backoffice"


def cookie_name(settings) -> str:
    """``__Host-`` (Secure, Path=/, no Domain) when the site is served over https."""
    return "__Host-amanah_backoffice" if settings.base_url.startswith("https://") else "amanah_backoffice"


class SignInRequired(Exception):
    """A page asked for without an operator session: go to the back office's log-in."""


class PasswordChangeRequired(Exception):
    """The operator still has the one-time password: change it before anything else."""


@dataclass
class Desk:
    """The signed-in operator of this request."""

    request: Request
    operator: operators.OperatorAccount
    session_id: str

    @property
    def csrf_token(self) -> str:
        return csrf_token_for(self.session_id)  # derived from the session, as the cabinet's

    @property
    def engine(self):
        return self.request.app.state.engine

    @property
    def settings(self):
        return self.request.app.state.settings

    def audit(self) -> operators.AuditContext:
        return audit_context(self.request, operators.Actor.account(self.operator.id, self.operator.email))


def audit_context(request: Request, actor: operators.Actor) -> operators.AuditContext:
    from amanah.api.observability import request_id

    settings = request.app.state.settings
    return operators.AuditContext(actor, request_id.get(), client_address(request, settings))


def desk_of(request: Request) -> Desk | None:
    """The operator session of this request, looked up once (it refreshes the idle timer)."""
    if hasattr(request.state, "backoffice_desk"):
        return request.state.backoffice_desk
    session_id = request.cookies.get(cookie_name(request.app.state.settings))
    found = None
    if session_id:
        operator = run_in_transaction(request.app.state.engine, lambda conn: operators.session_operator(
            conn, session_id, now=clock.now()))
        found = Desk(request, operator, session_id) if operator else None
    request.state.backoffice_desk = found
    return found


def require_desk(request: Request, *, password_page: bool = False) -> Desk:
    desk = desk_of(request)
    if desk is None:
        raise SignInRequired()
    if desk.operator.password_change_required and not password_page:
        raise PasswordChangeRequired()
    return desk


def check_form(request: Request, presented: str | None, *, password_page: bool = False) -> Desk:
    """For every state-changing form: an operator session AND its CSRF token, else 403."""
    desk = desk_of(request)
    if desk is None:
        raise PermissionDenied("Log in to the back office first.", code="backoffice_sign_in_required")
    token = presented or request.headers.get(CSRF_HEADER)
    if not operators.verify_csrf(desk.session_id, token):
        raise PermissionDenied("This form has expired; reload the page and try again.", code="csrf_failed")
    if desk.operator.password_change_required and not password_page:
        raise PasswordChangeRequired()
    return desk


def page(request: Request, template: str, desk: Desk | None, status_code: int = 200, **context) -> HTMLResponse:
    """Renders a ``backoffice_*.html`` page with the cabinet's renderer and headers."""
    try:
        with request.app.state.engine.connect() as connection:
            mode = service_mode.current(connection).mode.value
    except Exception:  # the status line must never take a page down
        mode = None
    return render(request, template, status_code=status_code, user=None, operator=desk.operator if desk else None,
                  csrf_token=desk.csrf_token if desk else "", banner=None, service_mode_now=mode, **context)


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    titles = {400: "That did not work", 401: "Log in first", 403: "Not allowed", 404: "Not found",
              409: "Not possible now", 429: "Too many attempts"}
    title = titles.get(status, "Something went wrong" if status >= 500 else "That did not work")
    return page(request, "backoffice_error.html", desk_of(request) if status < 500 else None, status_code=status,
                title=title, message=message)


class BackofficeRoute(APIRoute):
    """Failures become back-office HTML pages; a page without a session, a trip to log in."""

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired:
                return sign_in_first(request, f"{PREFIX}/login")
            except PasswordChangeRequired:
                return redirect(f"{PREFIX}/password")
            except AppError as error:
                return error_page(request, error.http_status, error.message)
            except RequestValidationError:
                return error_page(request, 400, "Please check what you entered and try again.")
            except StarletteHTTPException as error:
                return error_page(request, error.status_code, str(error.detail))
            except Exception:
                log.exception("unexpected error on %s %s", request.method, request.url.path)
                return error_page(request, 500, "Something went wrong on our side; nothing was changed.")

        return run


router = Router(prefix=PREFIX, route_class=BackofficeRoute, include_in_schema=False)


# --- signing in and out -------------------------------------------------------------------------

def _new_captcha(request: Request) -> dict:
    engine, settings = request.app.state.engine, request.app.state.settings
    made = run_in_transaction(engine, lambda conn: users.create_captcha(conn, settings, now=clock.now()))
    return {"captcha_id": made.captcha_id,
            "captcha_png": "data:image/png;base64," + base64.b64encode(made.image_png).decode("ascii")}


@router.get("/login")
def login_page(request: Request, next: str | None = Query(None, max_length=500)):
    if desk_of(request):
        return redirect(safe_next(next, PREFIX))
    return page(request, "backoffice_login.html", None, email="", next=safe_next(next, ""), error=None, captcha=None)


@router.post("/login")
def login(request: Request, email: str = Form("", max_length=limits.EMAIL_LENGTH_MAX),
          password: str = Form("", max_length=limits.PASSWORD_LENGTH_MAX * 4),
          totp_code: str = Form("", max_length=16), next: str = Form("", max_length=500),
          captcha_id: str = Form("", max_length=64), captcha_answer: str = Form("", max_length=32)):
    check_same_origin(request)
    engine, settings, now = request.app.state.engine, request.app.state.settings, clock.now()
    address = client_address(request, settings)
    if not (email.strip() and password and totp_code.strip()):
        # Nothing is checked (so nothing is learnt, and nothing counted): all three are needed.
        return page(request, "backoffice_login.html", None, status_code=400, email=email, next=next, captcha=None,
                    error="Enter your e-mail address, your password and the code from your authenticator app.")

    def work(conn):
        outcome = operators.log_in(conn, settings, email=email, password=password,
                                   totp_code="".join(totp_code.split()) or None, client_address=address,
                                   captcha_id=captcha_id or None, captcha_answer=captcha_answer or None, now=now)
        if outcome.error:
            return outcome
        account = outcome.value
        session = operators.start_session(conn, account.id, user_agent=request.headers.get("user-agent"), now=now)
        actions.operator_logged_in(conn, audit_context(request, operators.Actor.account(account.id, account.email)),
                                   now=now)
        return users.Outcome(session)

    try:
        session = run_in_transaction(engine, work).unwrap()
    except AppError as error:
        wants_captcha = isinstance(error, TooManyAttempts) or error.code == "captcha_invalid"
        message = error.message
        if wants_captcha:
            message = ("Too many failed attempts: wait a little, or type the characters in the picture."
                       if isinstance(error, TooManyAttempts) else "The captcha answer is wrong; here is a new one.")
        response = page(request, "backoffice_login.html", None, status_code=error.http_status, email=email,
                        next=next, error=message, captcha=_new_captcha(request) if wants_captcha else None)
        if isinstance(error, TooManyAttempts) and error.retry_after_s:
            response.headers["Retry-After"] = str(error.retry_after_s)
        return response
    response = redirect(f"{PREFIX}/password" if session.operator.password_change_required
                        else safe_next(next, PREFIX))
    secure = settings.base_url.startswith("https://") or request.url.scheme == "https"
    response.set_cookie(cookie_name(settings), session.session_id, max_age=limits.OPERATOR_SESSION_TTL_S, path="/",
                        httponly=True, secure=secure, samesite="strict")
    return response


@router.post("/logout")
def logout(request: Request, csrf_token: str = Form("", max_length=200)):
    desk = check_form(request, csrf_token, password_page=True)
    now = clock.now()

    def work(conn):
        operators.end_session(conn, desk.session_id, now=now)
        actions.operator_logged_out(conn, desk.audit(), now=now)

    run_in_transaction(desk.engine, work)
    response = redirect(f"{PREFIX}/login")
    response.delete_cookie(cookie_name(desk.settings), path="/")
    return response


@router.get("/password")
def password_page(request: Request):
    desk = require_desk(request, password_page=True)
    return page(request, "backoffice_password.html", desk, error=None, done=False)


@router.post("/password")
def change_password(request: Request, csrf_token: str = Form("", max_length=200),
                    current_password: str = Form("", max_length=limits.PASSWORD_LENGTH_MAX * 4),
                    new_password: str = Form("", max_length=limits.PASSWORD_LENGTH_MAX * 4),
                    new_password_again: str = Form("", max_length=limits.PASSWORD_LENGTH_MAX * 4)):
    desk = check_form(request, csrf_token, password_page=True)
    if new_password != new_password_again:
        return page(request, "backoffice_password.html", desk, status_code=400, done=False,
                    error="The two new passwords are not the same.")
    try:
        run_in_transaction(desk.engine, lambda conn: actions.change_operator_password(
            conn, desk.audit(), desk.settings, current_password=current_password, new_password=new_password,
            now=clock.now()))
    except AppError as error:
        return page(request, "backoffice_password.html", desk, status_code=error.http_status, done=False,
                    error=error.message)
    return redirect(f"{PREFIX}?notice=password_changed")


# --- looking things up --------------------------------------------------------------------------

@router.get("")
def home(request: Request, q: str = Query("", max_length=limits.BACKOFFICE_SEARCH_TEXT_LENGTH_MAX),
         notice: str = Query("", max_length=40)):
    desk = require_desk(request)
    with desk.engine.connect() as connection:
        results = queries.search(connection, q) if q.strip() else None
        disputes_open = len(queries.open_disputes(connection))
    notices = {"password_changed": "Your password is changed."}
    return page(request, "backoffice_search.html", desk, q=q, results=results, disputes_open=disputes_open,
                notice=notices.get(notice))


@router.get("/search")
def search(request: Request, q: str = Query("", max_length=limits.BACKOFFICE_SEARCH_TEXT_LENGTH_MAX)):
    return home(request, q=q, notice="")


@router.get("/users/{user_id}")
def user_page(request: Request, user_id: str, starting_after: str | None = Query(None, max_length=64)):
    desk = require_desk(request)
    user_id = user_id[:40]
    with desk.engine.connect() as connection:
        found = queries.user_page(connection, user_id)
        balances = wallet.balances(connection, user_id)
        lines, more = wallet.page(connection, user_id, wallet.HistoryFilter(), limit=limits.BACKOFFICE_PAGE_ROWS,
                                  starting_after=starting_after)
    return page(request, "backoffice_user.html", desk, balances=balances, lines=lines, has_more=more,
                first_page=starting_after is None, **found)


@router.get("/platforms/{platform_id}")
def platform_page(request: Request, platform_id: str):
    desk = require_desk(request)
    with desk.engine.connect() as connection:
        found = queries.platform_page(connection, platform_id[:40])
    return page(request, "backoffice_platform.html", desk, **found)


@router.get("/trades/{trade_id}")
def trade_page(request: Request, trade_id: str, notice: str = Query("", max_length=40)):
    desk = require_desk(request)
    with desk.engine.connect() as connection:
        found = queries.trade_page(connection, trade_id[:40])
        history, _more = operators.audit_entries(connection, target_id=trade_id[:40], limit=20)
    return page(request, "backoffice_trade.html", desk, audit=history,
                notice="The dispute is settled." if notice == "resolved" else None, **found)


@router.get("/transfers/{transfer_id}")
def transfer_page(request: Request, transfer_id: str):
    desk = require_desk(request)
    with desk.engine.connect() as connection:
        found = queries.transfer_page(connection, transfer_id[: limits.TRANSFER_ID_LENGTH_MAX])
    return page(request, "backoffice_transfer.html", desk, **found)


# --- disputes -----------------------------------------------------------------------------------

@router.get("/disputes")
def disputes_page(request: Request, notice: str = Query("", max_length=40)):
    desk = require_desk(request)
    with desk.engine.connect() as connection:
        queue = queries.open_disputes(connection)
    return page(request, "backoffice_disputes.html", desk, queue=queue, error=None,
                notice="The dispute is settled." if notice == "resolved" else None)


def _buyer_share(text: str, code: str) -> int | None:
    if not text.strip():
        return None
    try:
        return Money.parse(text.strip(), code).amount_minor
    except AppError:
        raise
    except (ValueError, ArithmeticError):
        raise InvalidRequest("The buyer's share is not an amount.", param="buyer_amount") from None


@router.post("/disputes/{trade_id}/resolve")
def resolve_dispute(request: Request, trade_id: str, csrf_token: str = Form("", max_length=200),
                    outcome: str = Form("", max_length=20), buyer_amount: str = Form("", max_length=40),
                    note: str = Form("", max_length=actions.NOTE_LENGTH_MAX)):
    desk = check_form(request, csrf_token)
    trade_id, now = trade_id[:40], clock.now()

    def work(conn):
        share = _buyer_share(buyer_amount, trades.load(conn, trade_id).currency) if outcome == "split" else None
        return actions.resolve_dispute(conn, desk.audit(), trade_id, outcome=outcome, buyer_amount=share, note=note,
                                       now=now)

    trade = run_in_transaction(desk.engine, work)
    if trade.refunded_amount:
        finish_refunds_of(desk.engine, desk.settings, trade_id, now=now)  # card refunds, as the API does
    return redirect(f"{PREFIX}/trades/{trade_id}?notice=resolved")


# --- service mode, FX, ledger, liabilities, audit log ---------------------------------------------

@router.get("/service-mode")
def service_mode_page(request: Request, notice: str = Query("", max_length=40)):
    desk = require_desk(request)
    with desk.engine.connect() as connection:
        state = service_mode.current(connection)
        history, _more = operators.audit_entries(connection, action="service_mode.set", limit=20)
    return page(request, "backoffice_service_mode.html", desk, state=state, history=history, error=None,
                notice="The service mode is changed." if notice == "changed" else None)


@router.post("/service-mode")
def switch_service_mode(request: Request, csrf_token: str = Form("", max_length=200),
                        mode: str = Form("", max_length=20), reason: str = Form("", max_length=500)):
    desk = check_form(request, csrf_token)
    if not reason.strip():
        raise InvalidRequest("Say why: the reason is kept in the audit log and the history.", param="reason")
    run_in_transaction(desk.engine, lambda conn: actions.set_service_mode(
        conn, desk.audit(), mode=mode, reason=reason.strip(), now=clock.now()))
    return redirect(f"{PREFIX}/service-mode?notice=changed")


@router.get("/fx")
def fx_page(request: Request, base: str = Query("EUR", max_length=3), notice: str = Query("", max_length=200)):
    desk = require_desk(request)
    now = clock.now()
    with desk.engine.connect() as connection:
        view = fx.rates_for(connection, fx.supported_currency(base, param="base").code, on=now.date(),
                            age_max_days=desk.settings.fx_rate_age_max_days)
    return page(request, "backoffice_fx.html", desk, view=view, base=view.base.code, today=now.date(),
                age_max_days=desk.settings.fx_rate_age_max_days, notice=notice or None)


@router.post("/fx/rates")
def set_rate(request: Request, csrf_token: str = Form("", max_length=200), base: str = Form("", max_length=3),
             quote_currency: str = Form("", alias="quote", max_length=3),
             rate: str = Form("", max_length=limits.FX_RATE_TEXT_LENGTH_MAX), as_of: str = Form("", max_length=10)):
    desk = check_form(request, csrf_token)
    day = None
    if as_of.strip():
        try:
            day = date.fromisoformat(as_of.strip())
        except ValueError:
            raise InvalidRequest("The day is written YYYY-MM-DD.", param="as_of") from None
    stored = run_in_transaction(desk.engine, lambda conn: actions.set_fx_rate(
        conn, desk.audit(), desk.settings, base=base, quote=quote_currency, rate=rate.strip(), as_of=day,
        now=clock.now()))
    message = f"Stored: 1 {stored.base.code} = {rate.strip()} {stored.quote.code} on {stored.as_of}."
    return redirect(f"{PREFIX}/fx?" + urlencode({"base": stored.base.code, "notice": message}))


@router.post("/fx/import")
async def import_rates(request: Request, csrf_token: str = Form("", max_length=200),
                       file: UploadFile | None = File(None)):
    desk = await run_in_threadpool(check_form, request, csrf_token)
    data = await file.read(limits.REQUEST_BODY_BYTES_MAX + 1) if file is not None else b""
    if not data:
        raise InvalidRequest("Choose a file: an ECB eurofxref XML file or a CSV.", param="file")
    name = file.filename or None

    def run():
        return run_in_transaction(desk.engine, lambda conn: actions.import_fx_rates(
            conn, desk.audit(), data, file_name=name, now=clock.now()))

    report = await run_in_threadpool(run)
    days = f"{report.first_day} to {report.last_day}" if report.first_day else "no days"
    message = f"Imported {report.stored} rates ({report.format}) for {days}."
    if report.skipped_currencies:
        message += f" Skipped currencies we do not hold: {', '.join(report.skipped_currencies)}."
    return redirect(f"{PREFIX}/fx?" + urlencode({"notice": message[:200]}))


@router.get("/ledger")
def ledger_page(request: Request, run: int = Query(0, ge=0, le=1)):
    desk = require_desk(request)
    report = None
    if run:
        with desk.engine.connect() as connection:
            report = ledger.verify(connection)
    return page(request, "backoffice_ledger.html", desk, report=report)


@router.get("/liabilities")
def liabilities_page(request: Request):
    desk = require_desk(request)
    with desk.engine.connect() as connection:
        report = liabilities.report(connection)
    return page(request, "backoffice_liabilities.html", desk, report=report)


@router.get("/audit-log")
def audit_log_page(request: Request, operator: str = Query("", max_length=limits.AUDIT_LABEL_LENGTH_MAX),
                   action: str = Query("", max_length=64), starting_after: str | None = Query(None, max_length=64)):
    desk = require_desk(request)
    with desk.engine.connect() as connection:
        entries, more = operators.audit_entries(connection, operator=operator.strip() or None,
                                                action=action.strip() or None, limit=limits.BACKOFFICE_PAGE_ROWS,
                                                starting_after=starting_after)
        known_actions = operators.actions_recorded(connection)
    filters = urlencode({key: value for key, value in (("operator", operator), ("action", action)) if value})
    return page(request, "backoffice_audit.html", desk, entries=entries, has_more=more, operator_filter=operator,
                action_filter=action, actions=known_actions, filters=filters, first_page=starting_after is None)

