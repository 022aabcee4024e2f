"""Who the user is: ``Authorization: Bearer ut_…`` (apps) or the session cookie (the cabinet).

Routers take ``current_user`` (or ``current_auth`` to know which credential was used). A
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


def current_auth(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(user_bearer),
    engine: Engine = Depends(get_engine),
    settings: Settings = Depends(get_settings),
) -> UserAuth:
    now = clock.now()
    if credentials is not None:
        token = credentials.credentials.strip()
        user = run_autocommit(engine, lambda conn: users.user_for_access_token(conn, token, now=now))
        if user is None:
            raise InvalidToken()
        return UserAuth(user, access_token=token)
    session_id = request.cookies.get(session_cookie_name(settings))
    if not session_id:
        raise AuthenticationFailed("Log in first: send `Authorization: Bearer ut_…` from POST /v1/auth/token.",
                                   code="missing_credentials")
    user = run_autocommit(engine, lambda conn: users.user_for_session(conn, session_id, now=now))
    if user is None:
        raise AuthenticationFailed("Your session has ended; log in again.", code="session_expired")
    if request.method not in SAFE_METHODS and not users.verify_csrf(session_id, request.headers.get(CSRF_HEADER)):
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
