"""Endpoints open to a platform *or* a user (buyer or seller): the key's prefix decides which."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy.engine import Engine

from amanah.api.auth import platform_bearer, require_platform
from amanah.api.deps import get_engine, get_settings
from amanah.api.user_auth import current_auth, user_bearer
from amanah.core.config import Settings
from amanah.platforms import service as platforms
from amanah.users import service as users


@dataclass(frozen=True)
class Caller:
    platform: platforms.Platform | None = None
    user: users.User | None = None


def platform_or_user(
    request: Request,
    platform_credentials: HTTPAuthorizationCredentials | None = Depends(platform_bearer),
    user_credentials: HTTPAuthorizationCredentials | None = Depends(user_bearer),
    engine: Engine = Depends(get_engine),
    settings: Settings = Depends(get_settings),
) -> Caller:
    if platform_credentials is not None and platform_credentials.credentials.startswith(platforms.KEY_PREFIX + "_"):
        return Caller(platform=require_platform(platform_credentials, engine))
    return Caller(user=current_auth(request, user_credentials, engine, settings).user)
