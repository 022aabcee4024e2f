"""Signed-in state: API tokens (``ut_…``), cabinet sessions, and platforms' login links.

A session id is rotated at every log-in (``start_session(replacing=…)`` revokes the one the
browser had), and each session has its own CSRF token (``tokens.csrf_token_for``). The web
cabinet puts the session id in a ``__Host-`` cookie (Secure, HttpOnly, SameSite=Lax).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Connection

from amanah.core import limits
from amanah.users.errors import InvalidLink
from amanah.users.service import tokens
from amanah.users.service.accounts import User, get_user, user_row
from amanah.users.service.tokens import Purpose


@dataclass(frozen=True)
class AccessToken:
    access_token: str
    expires_at: datetime


@dataclass(frozen=True)
class Session:
    session_id: str
    csrf_token: str
    expires_at: datetime
    platform_id: str | None = None


@dataclass(frozen=True)
class LoginLinkUse:
    user: User
    platform_id: str


def issue_access_token(conn: Connection, user_id: str, *, now: datetime) -> AccessToken:
    issued = tokens.issue(conn, user_id=user_id, purpose=Purpose.ACCESS, ttl_s=limits.ACCESS_TOKEN_TTL_S, now=now)
    return AccessToken(issued.secret, issued.expires_at)


def user_for_access_token(conn: Connection, token: str, *, now: datetime) -> User | None:
    row = tokens.find_active(conn, token, Purpose.ACCESS, now)
    return None if row is None else get_user(conn, row.user_id)


def revoke_access_token(conn: Connection, token: str, *, now: datetime) -> bool:
    return tokens.revoke(conn, token, Purpose.ACCESS, now)


def start_session(conn: Connection, user_id: str, *, replacing: str | None = None,
                  platform_id: str | None = None, now: datetime) -> Session:
    """A new session (new id) for a log-in; the browser's previous session, if any, ends."""
    if replacing:
        tokens.revoke(conn, replacing, Purpose.SESSION, now)
    issued = tokens.issue(conn, user_id=user_id, purpose=Purpose.SESSION, ttl_s=limits.SESSION_TTL_S,
                          now=now, platform_id=platform_id)
    return Session(issued.secret, tokens.csrf_token_for(issued.secret), issued.expires_at, platform_id)


def user_for_session(conn: Connection, session_id: str, *, now: datetime) -> User | None:
    row = tokens.find_active(conn, session_id, Purpose.SESSION, now)
    return None if row is None else get_user(conn, row.user_id)


def verify_csrf(session_id: str, csrf_token: str | None) -> bool:
    """True when a state-changing cabinet request carries its session's CSRF token."""
    return tokens.csrf_matches(session_id, csrf_token)


def end_session(conn: Connection, session_id: str, *, now: datetime) -> bool:
    return tokens.revoke(conn, session_id, Purpose.SESSION, now)


def create_login_link(conn: Connection, *, platform_id: str, user_id: str, base_url: str, now: datetime) -> str:
    """A single-use, two-minute link that logs ``user_id`` into the cabinet, bound to the
    platform that asked. The caller (the platform API) has checked that the user is that
    platform's user."""
    assert platform_id, "a login link is always bound to a platform"
    user_row(conn, user_id)
    issued = tokens.issue(conn, user_id=user_id, purpose=Purpose.LOGIN_LINK, ttl_s=limits.LOGIN_LINK_TTL_S,
                          now=now, platform_id=platform_id)
    return f"{base_url.rstrip('/')}/sso/login?token={issued.secret}"


def consume_login_link(conn: Connection, token: str, *, now: datetime,
                       platform_id: str | None = None) -> LoginLinkUse:
    """Uses the link up. With ``platform_id``, refuses a link another platform made. The
    cabinet then calls ``start_session(…, platform_id=use.platform_id)``."""
    row = tokens.find_active(conn, token, Purpose.LOGIN_LINK, now)
    if row is None or (platform_id is not None and row.platform_id != platform_id):
        raise InvalidLink()
    if tokens.consume(conn, token, Purpose.LOGIN_LINK, now) is None:
        raise InvalidLink()
    return LoginLinkUse(get_user(conn, row.user_id), row.platform_id)
