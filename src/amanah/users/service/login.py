"""Log-in: credentials, throttling, captcha and the second factor, in that order.

Every failure is answered the same way whether or not the e-mail has an account (same error,
same work: an unknown address is checked against a dummy hash). The caller commits, then
raises (``Outcome``), so failures are counted even though the request fails.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Connection, Row

from amanah.core.config import Settings
from amanah.users.errors import CaptchaInvalid, InvalidCredentials, TwoFactorRequired
from amanah.users.models import users
from amanah.users.service import passwords, throttle
from amanah.users.service.accounts import User, lookup_key, user_row_by_email
from amanah.users.service.captcha import consume_captcha
from amanah.users.service.outcome import Outcome, failed
from amanah.users.service.two_factor import check_second_factor


def log_in(conn: Connection, settings: Settings, *, email: str, password: str, client_address: str,
           totp_code: str | None = None, recovery_code: str | None = None, captcha_id: str | None = None,
           captcha_answer: str | None = None, now: datetime) -> Outcome[User]:
    """Checks a log-in attempt; on success the caller issues a token or starts a session."""
    keys = throttle.keys_for(lookup_key(email), client_address)
    captcha_solved = False
    if captcha_id or captcha_answer:
        if not consume_captcha(conn, captcha_id, captcha_answer, now=now):
            return failed(CaptchaInvalid())
        captcha_solved = True
    if (refusal := throttle.check(conn, keys, captcha_solved=captcha_solved, now=now)) is not None:
        return failed(refusal)
    row = user_row_by_email(conn, email)
    if not passwords.verify_password(settings, row.password_hash if row else None, password):
        throttle.record_log_in_failure(conn, keys, now)
        return failed(InvalidCredentials())
    second = check_second_factor(conn, row, totp_code, recovery_code, now)
    if isinstance(second, TwoFactorRequired):
        return failed(second)  # the password was right: asking for the code is no failure
    if second is not None:
        throttle.record_log_in_failure(conn, keys, now)
        return failed(second)
    throttle.clear(conn, keys.account)
    _rehash_if_needed(conn, settings, row, password, now)
    return Outcome(User.from_row(row))


def _rehash_if_needed(conn: Connection, settings: Settings, row: Row, password: str, now: datetime) -> None:
    """Re-hashes with the current Argon2 parameters (the only moment we hold the password)."""
    if passwords.needs_rehash(settings, row.password_hash):
        conn.execute(users.update().where(users.c.id == row.id).values(
            password_hash=passwords.hash_password(settings, password), updated_at=now))
