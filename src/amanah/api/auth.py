"""Who is calling: bearer-key dependencies. Operators use ``ak_…`` keys.

Every credential arrives as ``Authorization: Bearer <secret>``; the prefix says which kind it
is, so a platform key offered where an operator key is needed is refused, not confused. Each
look-up is one statement in autocommit (``run_autocommit``): one round trip per request. There is
no cache in front of it, so a key revoked (or a platform disabled) by any process is refused by
every server from the next request on."""

from __future__ import annotations

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine

from amanah.api.deps import get_engine
from amanah.core.clock import clock
from amanah.core.db import run_autocommit
from amanah.core.errors import AuthenticationFailed
from amanah.operators import service as operators
from amanah.platforms import service as platforms

operator_bearer = HTTPBearer(
    scheme_name="OperatorKey", description="An operator key `ak_…` from `amanah admin-keys create`.",
    auto_error=False,
)


def bearer_secret(credentials: HTTPAuthorizationCredentials | None, prefix: str, what: str) -> str:
    if credentials is None or not credentials.credentials:
        raise AuthenticationFailed(f"This call needs {what}: send `Authorization: Bearer {prefix}_…`.",
                                   code="missing_credentials")
    secret = credentials.credentials.strip()
    if not secret.startswith(prefix + "_"):
        raise AuthenticationFailed(f"This call needs {what} (it starts with `{prefix}_`).",
                                   code="invalid_api_key")
    return secret


def require_operator(
    credentials: HTTPAuthorizationCredentials | None = Depends(operator_bearer),
    engine: Engine = Depends(get_engine),
) -> operators.Operator:
    secret = bearer_secret(credentials, operators.KEY_PREFIX, "an operator key")
    return run_autocommit(engine, lambda connection: operators.authenticate(connection, secret))


platform_bearer = HTTPBearer(
    scheme_name="PlatformKey", description="A platform's secret key `sk_…` from `amanah platforms create`.",
    auto_error=False,
)


def require_platform(
    credentials: HTTPAuthorizationCredentials | None = Depends(platform_bearer),
    engine: Engine = Depends(get_engine),
) -> platforms.Platform:
    secret = bearer_secret(credentials, platforms.KEY_PREFIX, "a platform's secret key")
    now = clock.now()  # the server's clock (test mode moves it): a grace period ends by it
    return run_autocommit(engine, lambda connection: platforms.authenticate(connection, secret, now=now))
