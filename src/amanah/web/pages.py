"""What every cabinet page shares: templates, the visitor (locale, session, CSRF), rendering,
and ``CabinetRoute``, which turns failures into friendly HTML pages."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

import jinja2
from babel.numbers import format_decimal
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from amanah.api.user_auth import CSRF_HEADER, session_cookie_name
from amanah.core import service_mode
from amanah.core.clock import clock
from amanah.core.errors import AppError
from amanah.money import CURRENCIES, Money, currency
from amanah.users import service as users
from amanah.web import i18n, messages

log = logging.getLogger("amanah.web")

TEMPLATES_DIR = Path(__file__).parent / "templates"
CSRF_FIELD = "csrf_token"

environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
    autoescape=jinja2.select_autoescape(["html"]),
    extensions=["jinja2.ext.i18n"],
    trim_blocks=True,
    lstrip_blocks=True,
    undefined=jinja2.StrictUndefined,
)
environment.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)


def _money(amount: int | None, code: str) -> str:
    if amount is None:
        return "—"
    return Money(amount, currency(code)).format(i18n.babel_locale(i18n.current_locale()))


environment.filters["money"] = _money
environment.filters["when"] = lambda value: i18n.format_when(value, i18n.current_locale())
environment.filters["day"] = lambda value: i18n.format_when(value, i18n.current_locale(), time=False)
environment.filters["decimal"] = lambda value: format_decimal(value, decimal_quantization=False, locale=i18n.babel_locale(i18n.current_locale()))
environment.globals["CURRENCIES"] = list(CURRENCIES)
environment.globals["currency_name"] = lambda code: CURRENCIES[code].name(i18n.babel_locale(i18n.current_locale()))
environment.globals["LANGUAGES"] = i18n.LANGUAGE_NAMES
FORM_KEY_FIELD = "form_key"


def new_form_key() -> str:
    """A key for one rendered money form (``web.form_once``): each form shown gets its own."""
    return secrets.token_urlsafe(24)


environment.globals["new_form_key"] = new_form_key
environment.globals["form_key_field"] = FORM_KEY_FIELD


class _StatusNames:
    """A trade status in words, in the language of the request being rendered."""

    def __getitem__(self, status: str) -> str:
        _ = i18n.gettext
        return {"awaiting_payment": _("Awaiting payment"), "held": _("Paid, in escrow"), "shipped": _("Shipped"),
                "disputed": _("In dispute"), "completed": _("Completed"), "refunded": _("Refunded"),
                "closed": _("Closed")}.get(status, status)


environment.globals["status_names"] = _StatusNames()


class SignInRequired(Exception):
    """Raised by ``require_user``: the visitor goes to the log-in page and comes back after."""


class StepUpNeeded(Exception):
    """Raised by ``require_full_user`` for a session a marketplace opened: the visitor confirms
    with their password (the step-up page) and comes back to ``back`` (this page when None)."""

    def __init__(self, back: str | None = None) -> None:
        super().__init__(back)
        self.back = back


class FormExpired(AppError):
    type, code, http_status = "permission", "csrf_failed", 403


@dataclass
class Visitor:
    request: Request
    locale: str
    user: users.User | None = None
    session_id: str | None = None
    platform_id: str | None = None
    """The marketplace whose sign-on link opened this session (a limited one), else None."""

    @property
    def limited(self) -> bool:
        return self.platform_id is not None

    @property
    def csrf_token(self) -> str:
        from amanah.users.service.tokens import csrf_token_for

        return csrf_token_for(self.session_id) if self.session_id else ""

    @property
    def engine(self):
        return self.request.app.state.engine

    @property
    def settings(self):
        return self.request.app.state.settings


def visitor(request: Request) -> Visitor:
    """Who is asking, in which language; the session is looked up once per request."""
    cached = getattr(request.state, "visitor", None)
    if cached is not None:
        return cached
    settings = request.app.state.settings
    session_id = request.cookies.get(session_cookie_name(settings))
    owner = None
    if session_id:
        with request.app.state.engine.connect() as connection:
            owner = users.session_owner(connection, session_id, now=clock.now())
    user = owner.user if owner else None
    locale = i18n.negotiate(request.cookies.get(i18n.LOCALE_COOKIE), user.locale if user else None,
                            request.headers.get("accept-language"))
    i18n.set_locale(locale)
    found = Visitor(request, locale, user, session_id if user else None, owner.platform_id if owner else None)
    request.state.visitor = found
    return found


def require_user(request: Request) -> Visitor:
    found = visitor(request)
    if found.user is None:
        raise SignInRequired()
    return found


def require_full_user(request: Request, back: str | None = None) -> Visitor:
    """``require_user`` for what a marketplace's session may not do (move money out, change
    credentials, give consent): a limited session is sent to the step-up page first, then
    back to ``back`` (a POST's form page) or this page."""
    found = require_user(request)
    if found.limited:
        raise StepUpNeeded(back)
    return found


def check_full_csrf(request: Request, presented: str | None, back: str) -> Visitor:
    """``check_csrf`` for a form a limited session may not send (``require_full_user``)."""
    found = check_csrf(request, presented)
    if found.limited:
        raise StepUpNeeded(back)
    return found


def check_csrf(request: Request, presented: str | None) -> Visitor:
    """For a signed-in form: the hidden field (or the htmx header) must carry the session's token."""
    found = require_user(request)
    token = presented or request.headers.get(CSRF_HEADER)
    if not users.verify_csrf(found.session_id, token):
        raise FormExpired("This form has expired; reload the page and try again.")
    return found


def check_same_origin(request: Request) -> Visitor:
    """For forms used before sign-in (no session, so no CSRF token yet): the browser's
    ``Origin`` (or ``Referer``) must be this site. Browsers send one on every form POST."""
    found = visitor(request)
    source = request.headers.get("origin") or request.headers.get("referer")
    if source:
        sent = urlsplit(source)
        own = {urlsplit(request.app.state.settings.base_url).netloc, request.headers.get("host", "")}
        if sent.netloc not in own:
            raise FormExpired("This form was sent from another site.")
    return found


def banner(engine, locale: str) -> dict | None:
    """The wind-down notice (``{title, body, still_works, to_do}``) while the operator winds the
    service down; ``service_mode.banner`` words it, in the visitor's language."""
    with engine.connect() as connection:
        provided = getattr(service_mode, "banner", None)
        if provided is not None:
            return provided(connection, locale)
        state = service_mode.current(connection)
    if state.mode is service_mode.Mode.WIND_DOWN:
        return {"title": i18n.gettext("This payment service is closing"),
                "body": i18n.gettext("Registration, new cards and top-ups are closed. You can still log in, pay "
                                     "for open orders with your balance, withdraw it to a card and delete your "
                                     "cards."), "still_works": [], "to_do": ""}
    return None


def render(request: Request, template: str, status_code: int = 200, **context) -> HTMLResponse:
    found = visitor(request)
    i18n.set_locale(found.locale)  # this may run on another thread than the one that met the visitor
    try:
        notice = banner(found.engine, found.locale)
    except Exception:  # the banner must never take a page down
        log.exception("service mode banner failed")
        notice = None
    values = dict(visitor=found, user=found.user, locale=found.locale, csrf_field=CSRF_FIELD,
                  csrf_token=found.csrf_token, banner=notice, path=request.url.path)
    values.update(context)  # the back office brings its own user (none) and CSRF token
    html = environment.get_template(template).render(**values)
    response = HTMLResponse(html, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self' " + _sandbox_origin(request) + "; frame-ancestors 'none'; base-uri 'none'")
    return response


def _sandbox_origin(request: Request) -> str:
    return urlsplit(request.app.state.settings.base_url)._replace(path="", query="", fragment="").geturl()


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def safe_next(target: str | None, default: str = "/account") -> str:
    """Only a path on this site (never ``//host`` or a scheme) may be a redirect target."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target[:500]
    return default


def error_page(request: Request, status: int, message: str | None = None) -> HTMLResponse:
    title, sentence = messages.generic(status)
    return render(request, "error.html", status_code=status, title=title, message=message or sentence)


def sign_in_first(request: Request, login_path: str) -> Response:
    """To the log-in page, which sends the visitor back to this page (path and query) after."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return redirect(f"{login_path}?next={quote(target, safe='')}")


STEP_UP_PATH = "/account/confirm-it-is-you"


def step_up_first(request: Request, back: str | None) -> Response:
    """To the step-up page, which sends the visitor back to ``back`` or this page after."""
    target = back or request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return redirect(f"{STEP_UP_PATH}?next={quote(safe_next(target), safe='')}")


class CabinetRoute(APIRoute):
    """A cabinet route: failures become HTML pages, a missing session a trip to the log-in page."""

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired:
                return sign_in_first(request, "/login")
            except StepUpNeeded as needed:
                return step_up_first(request, needed.back)
            except AppError as error:
                found = visitor(request)
                i18n.set_locale(found.locale)
                return error_page(request, error.http_status, messages.friendly(error, found.locale))
            except RequestValidationError:
                return error_page(request, 400)
            except StarletteHTTPException as error:
                return error_page(request, error.status_code)
            except Exception:
                log.exception("unexpected error on %s %s", request.method, request.url.path)
                return error_page(request, 500)

        return run
