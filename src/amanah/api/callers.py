"""Who is calling, whatever the kind of credential: endpoints open to a platform *or* a user
(buyer or seller), where the key's prefix decides which; and whether a request's credential is
still current (``credential_refusal``)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials
from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy.engine import Engine

from amanah.api.auth import platform_bearer, require_operator, require_platform
from amanah.api.deps import get_engine, get_settings
from amanah.api.user_auth import UserCredentials, authenticate, current_auth, session_cookie_name, user_bearer
from amanah.core.config import Settings
from amanah.core.errors import AuthenticationFailed
from amanah.operators import service as operators
from amanah.platforms import service as platforms
from amanah.users import service as users
from amanah.users.service import tokens


@dataclass(frozen=True)
class Caller:
    platform: platforms.Platform | None = None
    user: users.User | None = None
    session_platform_id: str | None = None
    """The marketplace that opened the user's session by single sign-on (a limited session)."""


def platform_or_user(
    request: Request,
    platform_credentials: HTTPAuthorizationCredentials | None = Depends(platform_bearer),
    user_credentials: HTTPAuthorizationCredentials | None = Depends(user_bearer),
    engine: Engine = Depends(get_engine),
    settings: Settings = Depends(get_settings),
) -> Caller:
    if platform_credentials is not None and platform_credentials.credentials.startswith(platforms.KEY_PREFIX + "_"):
        return Caller(platform=require_platform(platform_credentials, engine))
    auth = current_auth(request, user_credentials, engine, settings)
    return Caller(user=auth.user, session_platform_id=auth.platform_id)


def credential_refusal(engine: Engine, settings: Settings, request: Request) -> AuthenticationFailed | None:
    """The 401 the credential this request came with would get now, or None: it is current, or
    the request carries none, or one of no kind Amanah issues (a route that needs a credential
    refuses such a one, so nothing is ever stored under it; one that does not, ignores it).

    Asked before an answer stored under an Idempotency-Key is given again (``idempotency``),
    so that a user token revoked since, an ended session, a disabled platform's key or a
    revoked operator key gets its refusal, not the stored answer. The credential is the one the
    key's scope is made of (``idempotency.caller_scope``): the ``Authorization`` header, else
    the session cookie. One look-up, as the route's own."""
    scheme, secret = get_authorization_scheme_param(request.headers.get("authorization"))
    credentials = HTTPAuthorizationCredentials(scheme=scheme, credentials=secret)
    session_id = request.cookies.get(session_cookie_name(settings))
    try:
        if scheme or secret:  # the header, whatever the cookie says, as in the key's scope
            if scheme.lower() != "bearer":
                return None
            if secret.startswith(platforms.KEY_PREFIX + "_"):
                require_platform(credentials, engine)
            elif secret.startswith(operators.KEY_PREFIX + "_"):
                require_operator(credentials, engine)
            elif tokens.well_formed(secret, tokens.Purpose.ACCESS):
                authenticate(engine, UserCredentials(access_token=secret))
        elif session_id:
            authenticate(engine, UserCredentials(session_id=session_id))
    except AuthenticationFailed as refusal:
        return refusal
    return None
