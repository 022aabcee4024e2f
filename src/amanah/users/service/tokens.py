"""Opaque secrets: API tokens, session ids, reset and verification links, login links.

Each is a purpose prefix plus ``SECRET_BYTES`` random bytes (256 bits), shown once, stored
only as its SHA-256 digest, with an expiry; single-use ones are consumed by one atomic UPDATE,
so two requests racing with the same link cannot both succeed.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from amanah.core import limits
from amanah.core.db import OnDriver
from amanah.users.models import user_tokens, users


class Purpose(enum.StrEnum):
    ACCESS = "access"
    """An app's bearer token (``ut_…``) from ``POST /v1/auth/token``."""
    SESSION = "session"
    """The web cabinet's session id, carried in the session cookie."""
    PASSWORD_RESET = "password_reset"
    """A single-use link to choose a new password (also the invitation of an automatically
    registered buyer)."""
    EMAIL_VERIFICATION = "email_verification"
    """A single-use link proving the user reads this mailbox."""
    LOGIN_LINK = "login_link"
    """A platform's single-use, two-minute single sign-on link."""


PREFIXES = {
    Purpose.ACCESS: "ut_",
    Purpose.SESSION: "uss_",
    Purpose.PASSWORD_RESET: "upr_",
    Purpose.EMAIL_VERIFICATION: "uev_",
    Purpose.LOGIN_LINK: "usl_",
}


@dataclass(frozen=True)
class Issued:
    secret: str
    expires_at: datetime


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def well_formed(secret: object, purpose: Purpose) -> bool:
    return (isinstance(secret, str) and len(secret) <= limits.SECRET_TEXT_LENGTH_MAX
            and secret.startswith(PREFIXES[purpose]))


def issue(conn: Connection, *, user_id: str, purpose: Purpose, ttl_s: int, now: datetime,
          platform_id: str | None = None, user_agent: str | None = None) -> Issued:
    secret = PREFIXES[purpose] + secrets.token_urlsafe(limits.SECRET_BYTES)
    expires_at = now + timedelta(seconds=ttl_s)
    conn.execute(user_tokens.insert().values(
        token_hash=digest(secret), purpose=purpose.value, user_id=user_id, platform_id=platform_id,
        created_at=now, expires_at=expires_at, user_agent=clean_user_agent(user_agent),
    ))
    return Issued(secret, expires_at)


def clean_user_agent(user_agent: str | None) -> str | None:
    """A User-Agent header as it is kept: printable characters only, cut to the column's length."""
    if not user_agent:
        return None
    printable = "".join(character for character in user_agent if character.isprintable()).strip()
    return printable[: limits.USER_AGENT_LENGTH_MAX] or None


def _current(token_hash, purpose, now):
    """The token whose digest is ``token_hash`` is a current one of ``purpose`` at ``now``:
    not used, revoked or expired (values, or bound parameters of a statement built once)."""
    return sa.and_(user_tokens.c.token_hash == token_hash, user_tokens.c.purpose == purpose,
                   user_tokens.c.used_at.is_(None), user_tokens.c.revoked_at.is_(None),
                   user_tokens.c.expires_at > now)


def _usable(secret: str, purpose: Purpose, now: datetime):
    return _current(digest(secret), purpose.value, now)


def find_active(conn: Connection, secret: str, purpose: Purpose, now: datetime) -> Row | None:
    """The token's row if it is current (not expired, used or revoked)."""
    if not well_formed(secret, purpose):
        return None
    return conn.execute(sa.select(user_tokens).where(_usable(secret, purpose, now))).first()


def user_of_active(conn: Connection, secret: str, purpose: Purpose, now: datetime) -> Row | tuple | None:
    """The ``users`` row of the token's owner if the token is current (named: ``row.email``):
    one statement (every request with a bearer token asks this)."""
    if not well_formed(secret, purpose):
        return None
    values = {"token_hash": digest(secret), "purpose": purpose.value, "now": now}
    if conn.dialect.name == "postgresql":  # on the driver: SQLAlchemy's result object cost more than the read
        return _USER_OF_ACTIVE.first(conn, values)
    return conn.execute(_user_of_active, values).first()


# Built once: a statement built per call costs more Python than its round trip.
_user_of_active = sa.select(users).join(user_tokens, user_tokens.c.user_id == users.c.id).where(_current(
    sa.bindparam("token_hash"), sa.bindparam("purpose"), sa.bindparam("now", type_=user_tokens.c.expires_at.type)))
_USER_OF_ACTIVE = OnDriver(_user_of_active)


def owner_of_active(purpose: Purpose) -> sa.ScalarSelect:
    """``user_of_active``'s answer as a scalar subquery for a statement of the caller's (the
    look-up rides on that statement's round trip): the owner's user id if the token bound by
    ``owner_values`` is a current token of this purpose, else NULL."""
    return sa.select(user_tokens.c.user_id).where(_current(
        sa.bindparam("owner_token_hash", type_=sa.String), purpose.value,
        sa.bindparam("owner_now", type_=user_tokens.c.expires_at.type),
    )).scalar_subquery()


def owner_values(secret: str, now: datetime) -> dict:
    """``owner_of_active``'s bound values (the secret must be ``well_formed``)."""
    return {"owner_token_hash": digest(secret), "owner_now": now}


def consume(conn: Connection, secret: str, purpose: Purpose, now: datetime) -> Row | None:
    """Uses a single-use token up; its row, or None if it was not usable."""
    row = find_active(conn, secret, purpose, now)
    if row is None:
        return None
    used = conn.execute(user_tokens.update().where(user_tokens.c.id == row.id, _usable(secret, purpose, now))
                        .values(used_at=now))
    return row if used.rowcount == 1 else None


def revoke(conn: Connection, secret: str, purpose: Purpose, now: datetime) -> bool:
    if not well_formed(secret, purpose):
        return False
    result = conn.execute(user_tokens.update().where(_usable(secret, purpose, now)).values(revoked_at=now))
    return result.rowcount == 1


def revoke_all(conn: Connection, user_id: str, purposes: tuple[Purpose, ...], now: datetime,
               except_id: int | None = None) -> int:
    """Revokes the user's current tokens of ``purposes``, all but the row ``except_id``."""
    spare = [user_tokens.c.id != except_id] if except_id is not None else []
    result = conn.execute(
        user_tokens.update()
        .where(user_tokens.c.user_id == user_id, user_tokens.c.purpose.in_([p.value for p in purposes]),
               user_tokens.c.used_at.is_(None), user_tokens.c.revoked_at.is_(None), *spare)
        .values(revoked_at=now)
    )
    return result.rowcount


def csrf_token_for(session_id: str) -> str:
    """The session's CSRF token: derived from the session id (HMAC), so nothing more is stored
    and it changes with the session; a page of another site can read neither."""
    mac = hmac.new(session_id.encode("utf-8"), b"amanah csrf v1", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def csrf_matches(session_id: str, presented: str | None) -> bool:
    if not presented or len(presented) > limits.SECRET_TEXT_LENGTH_MAX:
        return False
    return hmac.compare_digest(csrf_token_for(session_id).encode(), presented.encode("utf-8", "replace"))
