"""Who the user is: ``Authorization: Bearer ut_…`` (apps) or the session cookie (the cabinet).

Routers take ``current_user`` (or ``current_auth`` to know which credential was used; or
``user_credentials``, and call ``authenticate`` in the endpoint's own thread, or have another
statement of theirs make the look-up, ``LookUpInStatement``, on a hot path). A
cookie-authenticated request that changes anything (any method but GET, HEAD, OPTIONS) must
carry its session's CSRF token in ``X-CSRF-Token``. ``client_address`` is what log-in
throttling counts by. The look-up is one statement in autocommit (``run_autocommit``): one
round trip, no transaction, on every request.

A session a marketplace's single sign-on link opened is limited (``UserAuth.platform_id``):
routes that move money out or change credentials take ``current_full_user`` (or call
``require_full_session``), and trade actions of such a session are held to that platform's
trades (``refuse_other_platform``); both answer 403 ``step_up_required``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine

from amanah.api.deps import get_engine, get_settings
from amanah.core.clock import clock
from amanah.core.config import Settings
from amanah.core.db import run_autocommit
from amanah.core.errors import AuthenticationFailed, PermissionDenied
from amanah.users import service as users
from amanah.users.service import tokens
from amanah.users.errors import InvalidToken, StepUpRequired

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"

user_bearer = HTTPBearer(
    scheme_name="UserToken", auto_error=False,
    description="A user token `ut_…` from `POST /v1/auth/token`.",
)


def session_cookie_name(settings: Settings) -> str:
    """``__Host-`` cookies must be Secure, which browsers refuse over plain http: the prefix is
    used whenever the base URL is https (production), a plain name in local development."""
    return "__Host-amanah_session" if settings.base_url.startswith("https://") else "amanah_session"


@dataclass(frozen=True)
class UserAuth:
    user: users.User
    access_token: str | None = None
    session_id: str | None = None
    platform_id: str | None = None
    """The marketplace whose sign-on link opened this session (a limited session), else None."""

    @property
    def limited(self) -> bool:
        return self.platform_id is not None


@dataclass(frozen=True)
class UserCredentials:
    """What the request says the user is, not yet looked up (``authenticate``)."""

    access_token: str | None = None
    session_id: str | None = None
    csrf_ok: bool = True
    """A session's request that changes nothing, or carries the session's CSRF token."""


def current_auth(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(user_bearer),
    engine: Engine = Depends(get_engine),
    settings: Settings = Depends(get_settings),
) -> UserAuth:
    return authenticate(engine, _credentials(request, credentials, settings))


async def user_credentials(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(user_bearer),
    settings: Settings = Depends(get_settings),
) -> UserCredentials:
    """``current_auth`` without the look-up, for an endpoint that makes it in its own thread
    (``authenticate``): a ``def`` dependency is a thread hop of its own (``api.deps``)."""
    return _credentials(request, credentials, settings)


def _credentials(request: Request, credentials: HTTPAuthorizationCredentials | None,
                 settings: Settings) -> UserCredentials:
    if credentials is not None:
        return UserCredentials(access_token=credentials.credentials.strip())
    session_id = request.cookies.get(session_cookie_name(settings))
    if not session_id:
        raise AuthenticationFailed("Log in first: send `Authorization: Bearer ut_…` from POST /v1/auth/token.",
                                   code="missing_credentials")
    return UserCredentials(session_id=session_id, csrf_ok=request.method in SAFE_METHODS
                           or users.verify_csrf(session_id, request.headers.get(CSRF_HEADER)))


def authenticate(engine: Engine, credentials: UserCredentials) -> UserAuth:
    """The user the credentials are for (one statement in autocommit), or the 401 or 403 why not."""
    now = clock.now()
    token, session_id = credentials.access_token, credentials.session_id
    platform_id = None
    if token is not None:
        user = run_autocommit(engine, lambda conn: users.user_for_access_token(conn, token, now=now))
    else:
        owner = run_autocommit(engine, lambda conn: users.session_owner(conn, session_id, now=now))
        user, platform_id = (owner.user, owner.platform_id) if owner else (None, None)
    _judge(credentials, found=user is not None)
    return UserAuth(user, access_token=token, session_id=session_id, platform_id=platform_id)


def _judge(credentials: UserCredentials, *, found: bool) -> None:
    """The 401 or 403 to answer, if any, once the credentials were looked up."""
    if not found:
        if credentials.access_token is not None:
            raise InvalidToken()
        raise AuthenticationFailed("Your session has ended; log in again.", code="session_expired")
    if not credentials.csrf_ok:
        raise PermissionDenied(f"This request needs the session's CSRF token in the {CSRF_HEADER} header.",
                               code="csrf_failed")


_OWNER_OF = {purpose: tokens.owner_of_active(purpose) for purpose in (tokens.Purpose.ACCESS, tokens.Purpose.SESSION)}


class LookUpInStatement:
    """``authenticate``, made by another statement of the endpoint's in its own round trip (a hot
    path's: issue #10). ``owner`` is the column to add to that statement (the owner's user id,
    NULL when the credentials are not current) and ``values`` its bound values; ``judged`` takes
    what it found and gives the user id, or raises the 401 or 403 ``authenticate`` raises.
    ``user_id`` keeps the id once judged (None before, and when refused). A malformed secret
    is refused here, as no statement could find it."""

    def __init__(self, credentials: UserCredentials, now: datetime) -> None:
        purpose = tokens.Purpose.ACCESS if credentials.access_token is not None else tokens.Purpose.SESSION
        secret = credentials.access_token if credentials.access_token is not None else credentials.session_id
        if not tokens.well_formed(secret, purpose):
            _judge(credentials, found=False)
        self.credentials = credentials
        self.owner = _OWNER_OF[purpose]
        self.values = tokens.owner_values(secret, now)
        self.user_id: str | None = None

    def judged(self, found: str | None) -> str:
        _judge(self.credentials, found=found is not None)
        self.user_id = found
        return found


def require_full_session(auth: UserAuth) -> None:
    """A session a marketplace's single sign-on link opened is the marketplace's doing, not the
    person's: it may not move money out, change credentials or give the consent (a seller
    link, a platform's right to sign them in) that only the person can give."""
    if auth.limited:
        raise StepUpRequired()


def refuse_other_platform(auth: UserAuth, platform_id: str) -> None:
    """A limited session acts only on the trades of the platform that opened it."""
    if auth.limited and auth.platform_id != platform_id:
        raise StepUpRequired("This session was opened from another marketplace: it can act only on that "
                             "marketplace's orders. Confirm it is you with your password first (POST /v1/auth/sessions).")


STEP_UP = {403: {"description": "`step_up_required`: a session a marketplace's single sign-on link opened may "
                                "not do this; the person logs in with their password first (`POST /v1/auth/sessions`, "
                                "or the cabinet's step-up page). Also `csrf_failed` for a session without its token."}}
"""The answer every route taking ``current_full_user`` documents (``responses=``)."""


async def current_user(auth: UserAuth = Depends(current_auth)) -> users.User:
    return auth.user


async def current_full_auth(auth: UserAuth = Depends(current_auth)) -> UserAuth:
    """``current_auth``, refusing a limited (marketplace) session: 403 ``step_up_required``."""
    require_full_session(auth)
    return auth


async def current_full_user(auth: UserAuth = Depends(current_full_auth)) -> users.User:
    return auth.user


def client_address(request: Request, settings: Settings = Depends(get_settings)) -> str:
    """The client's IP address; from the last ``X-Forwarded-For`` entry (the one our own proxy
    added) only when ``AMANAH_TRUST_X_FORWARDED_FOR`` says a proxy is in front."""
    if settings.trust_x_forwarded_for:
        forwarded = request.headers.get("x-forwarded-for", "")
        last = forwarded.split(",")[-1].strip()[:64]
        if last:
            return last
    return request.client.host if request.client else "unknown"
