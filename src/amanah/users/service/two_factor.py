"""Two-factor sign-in with TOTP (RFC 6238, 30-second steps, 6 digits) and recovery codes.

Enabling takes two steps: ``begin_two_factor`` (password required) makes a pending secret and
its QR code; ``confirm_two_factor`` with a code from the app turns it on and returns ten
recovery codes, shown once and stored as digests. A code is accepted one step either side of
now, and never twice (``totp_last_step``). A recovery code works once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import secrets
from dataclasses import dataclass
from datetime import datetime

import pyotp
import segno
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from amanah.core import limits
from amanah.core.config import Settings
from amanah.core.errors import AppError
from amanah.users.errors import InvalidCredentials, TwoFactorInvalid, TwoFactorRequired, TwoFactorState
from amanah.users.models import user_recovery_codes, users
from amanah.users.service import passwords, throttle
from amanah.users.service.accounts import User, get_user, user_row
from amanah.users.service.outcome import Outcome, failed

ISSUER = "Amanah"
STEP_S = 30


@dataclass(frozen=True)
class TwoFactorSetup:
    secret: str
    otpauth_uri: str
    qr_svg: str
    qr_png: bytes


def _step(now: datetime) -> int:
    return int(now.timestamp()) // STEP_S


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    code = "".join(code.split())
    if len(code) != limits.TOTP_CODE_LENGTH or not code.isdigit():
        return None
    totp, current = pyotp.TOTP(secret), _step(now)
    found = None
    for step in range(current - limits.TOTP_VALID_WINDOW_STEPS, current + limits.TOTP_VALID_WINDOW_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step
    return found


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code ``code`` is (one step either side of now), or None. Public for
    the operators' log-in (``amanah.operators``), which keeps its own ``totp_last_step``."""
    return _matching_step(secret, code, now)


def claim_step(conn: Connection, table: sa.Table, row_id: str, step: int) -> bool:
    """Marks ``step`` used on the row, if no code of that step or a later one was used before;
    True only for the one caller whose UPDATE changed the row. A compare-and-set in one
    statement: two requests carrying the same code at the same instant cannot both pass (on
    PostgreSQL the second UPDATE waits for the first's row lock, then re-reads the condition).
    For users and operators alike (each table has ``id`` and ``totp_last_step``)."""
    claimed = conn.execute(table.update().where(
        table.c.id == row_id, sa.or_(table.c.totp_last_step.is_(None), table.c.totp_last_step < step))
        .values(totp_last_step=step))
    return claimed.rowcount == 1


def new_totp_secret() -> str:
    return pyotp.random_base32(32)  # 160 bits, RFC 4226's recommended length


def otpauth_uri(secret: str, name: str, issuer: str = ISSUER) -> str:
    """The ``otpauth://`` URI an authenticator app reads (from its QR code)."""
    return pyotp.TOTP(secret).provisioning_uri(name=name, issuer_name=issuer)


def _recovery_digest(code: str) -> str:
    normalized = "".join(character for character in code.lower() if character.isalnum())
    return hashlib.sha256(normalized.encode("utf-8")).hexdigest()


def _new_recovery_code() -> str:
    raw = base64.b32encode(secrets.token_bytes(10)).decode("ascii").lower()  # 80 bits
    return "-".join(raw[i:i + 4] for i in range(0, 16, 4))


def check_second_factor(conn: Connection, row: Row, totp_code: str | None, recovery_code: str | None,
                        now: datetime) -> AppError | None:
    """None when the user has no second factor or a valid one was given (and is now used)."""
    if row.totp_secret is None:
        return None
    if totp_code:
        step = _matching_step(row.totp_secret, totp_code, now)
        if step is None or not claim_step(conn, users, row.id, step):
            return TwoFactorInvalid()
        return None
    if recovery_code:
        if len(recovery_code) > limits.RECOVERY_CODE_LENGTH_MAX:
            return TwoFactorInvalid()
        used = conn.execute(user_recovery_codes.update().where(
            user_recovery_codes.c.user_id == row.id, user_recovery_codes.c.used_at.is_(None),
            user_recovery_codes.c.code_hash == _recovery_digest(recovery_code)).values(used_at=now))
        return None if used.rowcount == 1 else TwoFactorInvalid()
    return TwoFactorRequired()


def password_outcome(conn: Connection, settings: Settings, row: Row, password: str, now: datetime) -> AppError | None:
    """Re-checks the password of a signed-in user, throttled like a log-in on the account."""
    key = throttle.keys_for(row.email, "").account
    state = throttle.counter(conn, key, now)
    if state.blocked_until and state.blocked_until > now:
        return throttle.wait_error(state.blocked_until, now)
    if not passwords.verify_password(settings, row.password_hash, password):
        throttle.record_failure(conn, (key,), now)
        return InvalidCredentials()
    return None


def begin_two_factor(conn: Connection, settings: Settings, user_id: str, *, password: str,
                     now: datetime) -> Outcome[TwoFactorSetup]:
    row = user_row(conn, user_id, for_update=True)
    if row.totp_secret is not None:
        return failed(TwoFactorState("Two-factor sign-in is already on; turn it off first to change the app."))
    if (error := password_outcome(conn, settings, row, password, now)) is not None:
        return failed(error)
    secret = new_totp_secret()
    conn.execute(users.update().where(users.c.id == user_id).values(totp_pending_secret=secret, updated_at=now))
    uri = otpauth_uri(secret, row.email)
    qr = segno.make(uri, error="m")
    png = io.BytesIO()
    qr.save(png, kind="png", scale=5)
    return Outcome(TwoFactorSetup(secret, uri, qr.svg_inline(scale=5), png.getvalue()))


def confirm_two_factor(conn: Connection, user_id: str, *, code: str, now: datetime) -> list[str]:
    """Turns two-factor on when ``code`` matches the pending secret; the recovery codes."""
    row = user_row(conn, user_id, for_update=True)
    if row.totp_pending_secret is None:
        raise TwoFactorState("Start with POST /v1/me/two-factor to get a QR code first.")
    step = _matching_step(row.totp_pending_secret, code, now)
    if step is None:
        raise TwoFactorInvalid()
    # Conditional too (the row lock above already serialises confirmations): only the request
    # that moves this very pending secret into place turns two-factor on.
    turned_on = conn.execute(users.update().where(
        users.c.id == user_id, users.c.totp_pending_secret == row.totp_pending_secret,
        users.c.totp_secret.is_(None)).values(
        totp_secret=row.totp_pending_secret, totp_pending_secret=None, totp_last_step=step, updated_at=now))
    if turned_on.rowcount != 1:
        raise TwoFactorState("Two-factor sign-in is already on.")
    return _replace_recovery_codes(conn, user_id, now)


def _replace_recovery_codes(conn: Connection, user_id: str, now: datetime) -> list[str]:
    conn.execute(user_recovery_codes.delete().where(user_recovery_codes.c.user_id == user_id))
    codes = [_new_recovery_code() for _ in range(limits.RECOVERY_CODES_COUNT)]
    conn.execute(user_recovery_codes.insert(), [
        {"user_id": user_id, "code_hash": _recovery_digest(code), "created_at": now} for code in codes])
    return codes


def disable_two_factor(conn: Connection, settings: Settings, user_id: str, *, password: str,
                       totp_code: str | None = None, recovery_code: str | None = None,
                       now: datetime) -> Outcome[User]:
    row = user_row(conn, user_id, for_update=True)
    if row.totp_secret is None:
        return failed(TwoFactorState("Two-factor sign-in is not on."))
    if (error := password_outcome(conn, settings, row, password, now)) is not None:
        return failed(error)
    if (error := check_second_factor(conn, row, totp_code, recovery_code, now)) is not None:
        return failed(error)
    clear_two_factor(conn, user_id, now)
    return Outcome(get_user(conn, user_id))


def clear_two_factor(conn: Connection, user_id: str, now: datetime) -> None:
    """Two-factor off: the secret, a pending setup and the recovery codes go."""
    conn.execute(users.update().where(users.c.id == user_id).values(
        totp_secret=None, totp_pending_secret=None, totp_last_step=None, updated_at=now))
    conn.execute(sa.delete(user_recovery_codes).where(user_recovery_codes.c.user_id == user_id))
