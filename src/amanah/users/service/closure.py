"""Closing an account, the users' part: proving it is the owner, and forgetting the person.

The row itself stays: the ledger's accounts and the trades name the user's id, and the books
must keep balancing after the person is gone. What identifies the person (e-mail, name,
password, second factor, recovery codes, every token) is erased or replaced; ``closed_at`` marks
the account. Whether the account may close (money, open trades) is ``amanah.closure``'s call."""

from __future__ import annotations

import hmac
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from amanah.core.config import Settings
from amanah.core.errors import AppError, InvalidRequest, NotFound
from amanah.users.models import login_throttles, user_recovery_codes, users
from amanah.users.service import throttle, tokens
from amanah.users.service.accounts import user_row
from amanah.users.service.outcome import Outcome, failed
from amanah.users.service.two_factor import password_outcome, check_second_factor


def closed_email(user_id: str) -> str:
    """The placeholder address of a closed account: unique, and undeliverable by design
    (``.invalid`` is reserved, RFC 2606), so no mail can reach anyone through it."""
    return f"closed.{user_id}@closed.invalid"


def is_closed(conn: Connection, user_id: str) -> bool:
    return user_row(conn, user_id).closed_at is not None


def check_owner(conn: Connection, settings: Settings, user_id: str, *, password: str | None,
                confirm_email: str | None, totp_code: str | None, now: datetime) -> Outcome[bool]:
    """The signed-in user proves it is them once more: the password (throttled like a log-in)
    and the second factor if they have one; a buyer who never chose a password types the
    account's e-mail address instead. An Outcome, so a wrong password still counts."""
    row = user_row(conn, user_id, for_update=True)
    if row.closed_at is not None:
        raise NotFound("This account is closed.")
    if row.password_hash is None:
        typed = (confirm_email or "").strip().lower().encode()
        if not hmac.compare_digest(typed, row.email.encode()):
            raise InvalidRequest("Type your account's e-mail address in confirm_email to close the account.",
                                 code="confirmation_required", param="confirm_email")
        return Outcome(True)
    if not password:
        raise InvalidRequest("Give your password to close the account.", code="password_required",
                             param="password")
    error: AppError | None = password_outcome(conn, settings, row, password, now)
    if error is None:
        error = check_second_factor(conn, row, totp_code, None, now)
    return failed(error) if error is not None else Outcome(True)


def anonymise(conn: Connection, user_id: str, *, now: datetime) -> None:
    """Forgets the person behind ``user_id`` and ends every way into the account."""
    row = user_row(conn, user_id, for_update=True)
    assert row.closed_at is None, "an account is closed once"
    conn.execute(users.update().where(users.c.id == user_id).values(
        email=closed_email(user_id), name="", password_hash=None, password_changed_at=None,
        email_verified_at=None, totp_secret=None, totp_pending_secret=None, totp_last_step=None,
        closed_at=now, updated_at=now))
    conn.execute(user_recovery_codes.delete().where(user_recovery_codes.c.user_id == user_id))
    # The throttle's counter is keyed by a digest of the old address: it would still link to it.
    conn.execute(login_throttles.delete().where(
        login_throttles.c.key == throttle.keys_for(row.email, "").account))
    tokens.revoke_all(conn, user_id, tuple(tokens.Purpose), now)


def closed_user_ids(conn: Connection, user_ids: list[str]) -> set[str]:
    """Which of these users closed their account."""
    rows = conn.execute(sa.select(users.c.id).where(users.c.id.in_(user_ids), users.c.closed_at.is_not(None)))
    return {row.id for row in rows}
