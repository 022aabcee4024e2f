"""Who the user is: ``Authorization: Bearer ut_…`` (apps) or the session cookie (the cabinet).

Routers take ``current_user`` (or ``current_auth`` to know which credential was used; or
``user_credentials``, and call ``authenticate`` in the endpoint's own thread, on a hot path). A
cookie-authenticated request that changes anything (any method but GET, HEAD, OPTIONS) must
carry its session's CSRF token in ``X-CSRF-Token``. ``client_address`` is what log-in
throttling counts by. The look-up is one statement in autocommit (``run_autocommit``): one
round trip, no transaction, on every request.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine

from amanah.api.deps import get_engine, get_settings
from amanah.core.clock import clock
from amanah.core.config import Settings
from amanah.core.db import run_autocommit
from amanah.core.errors import AuthenticationFailed, PermissionDenied
from amanah.users import service as users
from amanah.users.errors import InvalidToken

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
    token = credentials.access_token
    if token is not None:
        user = run_autocommit(engine, lambda conn: users.user_for_access_token(conn, token, now=now))
        if user is None:
            raise InvalidToken()
        return UserAuth(user, access_token=token)
    session_id = credentials.session_id
    user = run_autocommit(engine, lambda conn: users.user_for_session(conn, session_id, now=now))
    if user is None:
        raise AuthenticationFailed("Your session has ended; log in again.", code="session_expired")
    if not credentials.csrf_ok:
        raise PermissionDenied(f"This request needs the session's CSRF token in the {CSRF_HEADER} header.",
                               code="csrf_failed")
    return UserAuth(user, session_id=session_id)


async def current_user(auth: UserAuth = Depends(current_auth)) -> users.User:
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
