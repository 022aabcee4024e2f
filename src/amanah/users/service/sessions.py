"""Signed-in state: API tokens (``ut_…``), cabinet sessions, and platforms' login links.

A session id is rotated at every log-in (``start_session(replacing=…)`` revokes the one the
browser had), and each session has its own CSRF token (``tokens.csrf_token_for``). The web
cabinet puts the session id in a ``__Host-`` cookie (Secure, HttpOnly, SameSite=Lax).

A session a marketplace's single sign-on link opened is *limited* (it carries the platform's
id): the marketplace made it, not the person, and a marketplace is a guest. It may read the
person's balance and history and pay that platform's trades; anything that moves money out or
changes credentials asks for step-up (``step_up``: the password, and the code when two-factor
is on, throttled like a log-in), which replaces it with a full session. So a platform that
mints a link for someone never holds more than a checkout, and two-factor is never skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from amanah.core import limits
from amanah.core.config import Settings
from amanah.core.errors import AuthenticationFailed
from amanah.users.errors import InvalidLink
from amanah.users.models import user_tokens, users
from amanah.users.service import tokens
from amanah.users.service.accounts import User, get_user, user_row
from amanah.users.service.login import log_in
from amanah.users.service.outcome import Outcome, failed
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
class SessionInfo:
    """One place the user is signed in: a cabinet session or an app's API token. ``ref`` names
    it for ``end_session_by_id`` (the row's id, never the secret)."""

    ref: str
    kind: str
    """``session`` (a browser, the web cabinet) or ``access`` (an app's API token)."""
    created_at: datetime
    expires_at: datetime
    user_agent: str | None
    platform_id: str | None
    current: bool


@dataclass(frozen=True)
class SessionOwner:
    """Whose a cabinet session is, and whether a marketplace opened it."""

    user: User
    platform_id: str | None
    """The marketplace whose single sign-on link opened the session (a limited session), or
    None for a session the person opened with their own password (a full one)."""

    @property
    def limited(self) -> bool:
        return self.platform_id is not None


@dataclass(frozen=True)
class LoginLinkUse:
    user: User
    platform_id: str


def issue_access_token(conn: Connection, user_id: str, *, now: datetime, user_agent: str | None = None) -> AccessToken:
    issued = tokens.issue(conn, user_id=user_id, purpose=Purpose.ACCESS, ttl_s=limits.ACCESS_TOKEN_TTL_S, now=now,
                          user_agent=user_agent)
    return AccessToken(issued.secret, issued.expires_at)


def user_for_access_token(conn: Connection, token: str, *, now: datetime) -> User | None:
    row = tokens.user_of_active(conn, token, Purpose.ACCESS, now)
    return None if row is None else User.from_row(row)


def revoke_access_token(conn: Connection, token: str, *, now: datetime) -> bool:
    return tokens.revoke(conn, token, Purpose.ACCESS, now)


def start_session(conn: Connection, user_id: str, *, replacing: str | None = None,
                  platform_id: str | None = None, user_agent: str | None = None, now: datetime) -> Session:
    """A new session (new id) for a log-in; the browser's previous session, if any, ends."""
    if replacing:
        tokens.revoke(conn, replacing, Purpose.SESSION, now)
    issued = tokens.issue(conn, user_id=user_id, purpose=Purpose.SESSION, ttl_s=limits.SESSION_TTL_S,
                          now=now, platform_id=platform_id, user_agent=user_agent)
    return Session(issued.secret, tokens.csrf_token_for(issued.secret), issued.expires_at, platform_id)


def user_for_session(conn: Connection, session_id: str, *, now: datetime) -> User | None:
    row = tokens.user_of_active(conn, session_id, Purpose.SESSION, now)
    return None if row is None else User.from_row(row)


def session_owner(conn: Connection, session_id: str, *, now: datetime) -> SessionOwner | None:
    """The session's user and the marketplace that opened it, if it is current: one statement
    (every cabinet request, and every API request with the session cookie, asks this)."""
    if not tokens.well_formed(session_id, Purpose.SESSION):
        return None
    row = conn.execute(_session_owner, {"token_hash": tokens.digest(session_id), "now": now}).first()
    return None if row is None else SessionOwner(User.from_row(row), row.session_platform_id)


_session_owner = sa.select(users, user_tokens.c.platform_id.label("session_platform_id")).join(
    user_tokens, user_tokens.c.user_id == users.c.id).where(
    user_tokens.c.token_hash == sa.bindparam("token_hash"), user_tokens.c.purpose == Purpose.SESSION.value,
    user_tokens.c.used_at.is_(None), user_tokens.c.revoked_at.is_(None),
    user_tokens.c.expires_at > sa.bindparam("now", type_=user_tokens.c.expires_at.type))


def step_up(conn: Connection, settings: Settings, session_id: str, *, password: str, client_address: str,
            totp_code: str | None = None, recovery_code: str | None = None, captcha_id: str | None = None,
            captcha_answer: str | None = None, user_agent: str | None = None,
            now: datetime) -> Outcome[Session | None]:
    """A limited session's person proves it is them: the password (and the second factor when
    it is on), checked exactly as a log-in of that account is (same throttle, captcha and
    single-use codes). On success the limited session ends and a full one (a new id) starts;
    None when the session was full already. The caller commits, then raises (``Outcome``), so
    failures are counted."""
    owner = session_owner(conn, session_id, now=now)
    if owner is None:
        return failed(AuthenticationFailed("Your session has ended; log in again.", code="session_expired"))
    if not owner.limited:
        return Outcome(None)
    checked = log_in(conn, settings, email=owner.user.email, password=password, client_address=client_address,
                     totp_code=totp_code, recovery_code=recovery_code, captcha_id=captcha_id,
                     captcha_answer=captcha_answer, now=now)
    if checked.error:
        return checked
    assert checked.value.id == owner.user.id, "one account per e-mail address"
    if not tokens.revoke(conn, session_id, Purpose.SESSION, now):  # one conditional UPDATE: a step-up
        return failed(AuthenticationFailed("Your session has ended; log in again.", code="session_expired"))
    return Outcome(start_session(conn, owner.user.id, user_agent=user_agent, now=now))  # replaces it once


def end_platform_sessions(conn: Connection, user_id: str, platform_id: str, *, now: datetime) -> int:
    """Ends every limited session and unused login link the platform opened for the user (the
    person withdrew its right to sign them in); how many ended."""
    result = conn.execute(user_tokens.update().where(
        user_tokens.c.user_id == user_id, user_tokens.c.platform_id == platform_id,
        user_tokens.c.purpose.in_([Purpose.SESSION.value, Purpose.LOGIN_LINK.value]),
        user_tokens.c.used_at.is_(None), user_tokens.c.revoked_at.is_(None)).values(revoked_at=now))
    return result.rowcount


def verify_csrf(session_id: str, csrf_token: str | None) -> bool:
    """True when a state-changing cabinet request carries its session's CSRF token."""
    return tokens.csrf_matches(session_id, csrf_token)


def end_session(conn: Connection, session_id: str, *, now: datetime) -> bool:
    return tokens.revoke(conn, session_id, Purpose.SESSION, now)


SIGNED_IN_KINDS = (Purpose.SESSION, Purpose.ACCESS)


def _active(user_id: str, now: datetime):
    return sa.and_(user_tokens.c.user_id == user_id,
                   user_tokens.c.purpose.in_([purpose.value for purpose in SIGNED_IN_KINDS]),
                   user_tokens.c.used_at.is_(None), user_tokens.c.revoked_at.is_(None),
                   user_tokens.c.expires_at > now)


def list_sessions(conn: Connection, user_id: str, *, now: datetime,
                  current_session_id: str | None = None) -> list[SessionInfo]:
    """The user's current cabinet sessions and API tokens, newest first; the one whose secret is
    ``current_session_id`` (the browser asking) is marked ``current``."""
    current_hash = tokens.digest(current_session_id) if current_session_id else None
    rows = conn.execute(sa.select(user_tokens).where(_active(user_id, now))
                        .order_by(user_tokens.c.created_at.desc(), user_tokens.c.id.desc())
                        .limit(limits.SESSIONS_LISTED_MAX)).all()
    return [SessionInfo(ref=str(row.id), kind=row.purpose, created_at=row.created_at, expires_at=row.expires_at,
                        user_agent=row.user_agent, platform_id=row.platform_id,
                        current=current_hash is not None and row.token_hash == current_hash) for row in rows]


def end_session_by_id(conn: Connection, user_id: str, session_ref: str, *, now: datetime) -> bool:
    """Ends one of the user's own sessions or tokens by its ``ref``; False when there is no such
    current one of this user's (another user's ref ends nothing)."""
    ref = str(session_ref).strip()
    if not ref.isdigit() or len(ref) > 19:
        return False
    result = conn.execute(user_tokens.update().where(user_tokens.c.id == int(ref), _active(user_id, now))
                          .values(revoked_at=now))
    return result.rowcount == 1


def end_other_sessions(conn: Connection, user_id: str, current_session_id: str | None, *, now: datetime) -> int:
    """Signs the user out everywhere but here: every session, API token and unused login link
    except the one whose secret is ``current_session_id``; how many ended."""
    keep = [user_tokens.c.token_hash != tokens.digest(current_session_id)] if current_session_id else []
    result = conn.execute(user_tokens.update().where(
        user_tokens.c.user_id == user_id,
        user_tokens.c.purpose.in_([p.value for p in (*SIGNED_IN_KINDS, Purpose.LOGIN_LINK)]),
        user_tokens.c.used_at.is_(None), user_tokens.c.revoked_at.is_(None), *keep).values(revoked_at=now))
    return result.rowcount


def create_login_link(conn: Connection, *, platform_id: str, user_id: str, base_url: str, now: datetime) -> str:
    """A single-use, two-minute link that logs ``user_id`` into the cabinet, bound to the
    platform that asked. The caller (the platform API) has checked that the user is that
    platform's user."""
    assert platform_id, "a login link is always bound to a platform"
    user_row(conn, user_id)
    issued = tokens.issue(conn, user_id=user_id, purpose=Purpose.LOGIN_LINK, ttl_s=limits.LOGIN_LINK_TTL_S,
                          now=now, platform_id=platform_id)
    return f"{base_url.rstrip('/')}/sso/login?token={issued.secret}"


def login_link_owner(conn: Connection, token: str, *, now: datetime) -> User | None:
    """Whom a current login link is for, without using it up (to ask a signed-in visitor
    before switching accounts); None when the link is not usable."""
    row = tokens.find_active(conn, token, Purpose.LOGIN_LINK, now)
    return None if row is None else get_user(conn, row.user_id)


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
