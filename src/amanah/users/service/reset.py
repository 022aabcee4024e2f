"""Password recovery, as the seed describes: e-mail + captcha → a link by e-mail → a new password.

The request answers the same whatever the address (the caller checks the captcha first and
always replies 202); only for an existing account is a link made and a mail queued. The link
works once, for 30 minutes. Setting the password ends every session and token of the user,
voids other reset links, and e-mails a notice. Two-factor sign-in is not bypassed: with it on,
the confirmation needs a code too — unless the address was never verified, when the link is the
first proof of the mailbox and the second factor (set up by whoever registered the address) is
cleared instead, so its owner always gets in. An automatically registered buyer's invitation is the same
kind of link, valid for a week.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Connection, Row

from amanah import mail
from amanah.core import limits
from amanah.core.config import Settings
from amanah.users.errors import InvalidLink, TwoFactorRequired, WeakPassword
from amanah.users.models import users
from amanah.users.service import passwords, throttle, tokens, two_factor
from amanah.users.service.accounts import User, get_user, user_row, user_row_by_email
from amanah.users.service.outcome import Outcome, failed
from amanah.users.service.tokens import Purpose
from amanah.users.service.two_factor import check_second_factor, password_outcome

SIGNED_IN = (Purpose.ACCESS, Purpose.SESSION, Purpose.LOGIN_LINK)


def send_set_password_link(conn: Connection, row: Row, *, template: str, ttl_s: int, now: datetime) -> None:
    link = tokens.issue(conn, user_id=row.id, purpose=Purpose.PASSWORD_RESET, ttl_s=ttl_s, now=now)
    mail.enqueue(conn, to=row.email, template=template, locale=row.locale,
                 params={"token": link.secret, "name": row.name}, now=now)


def request_password_reset(conn: Connection, *, email: str, now: datetime) -> None:
    """E-mails a reset link if ``email`` has an account; does nothing visible otherwise."""
    row = user_row_by_email(conn, email)
    if row is not None:
        send_set_password_link(conn, row, template="password_reset", ttl_s=limits.PASSWORD_RESET_TTL_S, now=now)


def confirm_password_reset(conn: Connection, settings: Settings, *, token: str, new_password: str,
                           totp_code: str | None = None, recovery_code: str | None = None,
                           now: datetime) -> Outcome[User]:
    link = tokens.find_active(conn, token, Purpose.PASSWORD_RESET, now)
    if link is None:
        return failed(InvalidLink())
    row = user_row(conn, link.user_id, for_update=True)
    passwords.check_policy(new_password, email=row.email, name=row.name)
    if (refusal := _second_factor(conn, row, totp_code, recovery_code, now)) is not None:
        return failed(refusal)
    if tokens.consume(conn, token, Purpose.PASSWORD_RESET, now) is None:
        return failed(InvalidLink())
    _set_password(conn, settings, row, new_password, now)
    return Outcome(get_user(conn, row.id))


def _second_factor(conn: Connection, row: Row, totp_code: str | None, recovery_code: str | None,
                   now: datetime):
    """With two-factor on, a reset link alone is not enough; wrong codes count as failed
    log-ins on the account, so the codes cannot be guessed through this door either.

    Except on an account whose address was never verified: whoever set up that second factor
    never proved the mailbox, while the link did. The mailbox's owner must always get in, so
    there the setup is cleared instead (``_set_password``), never asked for."""
    if row.totp_secret is None or row.email_verified_at is None:
        return None
    key = throttle.keys_for(row.email, "").account
    state = throttle.counter(conn, key, now)
    if state.blocked_until and state.blocked_until > now:
        return throttle.wait_error(state.blocked_until, now)
    error = check_second_factor(conn, row, totp_code, recovery_code, now)
    if error is not None and not isinstance(error, TwoFactorRequired):
        throttle.record_failure(conn, (key,), now)
    return error


def _set_password(conn: Connection, settings: Settings, row: Row, new_password: str, now: datetime) -> None:
    conn.execute(users.update().where(users.c.id == row.id).values(
        password_hash=passwords.hash_password(settings, new_password), password_changed_at=now,
        # The link came by e-mail: the user reads this mailbox.
        email_verified_at=row.email_verified_at or now, updated_at=now,
    ))
    if row.email_verified_at is None:
        # Whatever was set up before the mailbox was proved is not the owner's to keep.
        two_factor.clear_two_factor(conn, row.id, now)
    tokens.revoke_all(conn, row.id, SIGNED_IN + (Purpose.PASSWORD_RESET,), now)
    throttle.clear(conn, throttle.keys_for(row.email, "").account)
    if row.password_hash is not None:  # an invited buyer choosing a first password needs no alarm
        mail.enqueue(conn, to=row.email, template="password_changed", locale=row.locale,
                     params={"name": row.name}, now=now)


def change_password(conn: Connection, settings: Settings, user_id: str, *, current_password: str,
                    new_password: str, now: datetime, keep_session_id: str | None = None) -> Outcome[User]:
    """A signed-in user changes the password in place: the current one is checked (a wrong one
    counts as a failed log-in on the account), the new one must pass the policy and differ; then
    it is rehashed, every other session, API token and link of the user ends (all but the secret
    ``keep_session_id``, the session or token that asked), and a notice is mailed."""
    row = user_row(conn, user_id, for_update=True)
    if (error := password_outcome(conn, settings, row, current_password, now)) is not None:
        return failed(error)
    passwords.check_policy(new_password, email=row.email, name=row.name)
    if passwords.verify_password(settings, row.password_hash, new_password):
        raise WeakPassword("The new password must differ from the current one.", param="new_password")
    conn.execute(users.update().where(users.c.id == row.id).values(
        password_hash=passwords.hash_password(settings, new_password), password_changed_at=now, updated_at=now))
    keep = tokens.find_active(conn, keep_session_id, Purpose.SESSION, now) if keep_session_id else None
    keep = keep or (tokens.find_active(conn, keep_session_id, Purpose.ACCESS, now) if keep_session_id else None)
    tokens.revoke_all(conn, row.id, SIGNED_IN + (Purpose.PASSWORD_RESET,), now, except_id=keep.id if keep else None)
    mail.enqueue(conn, to=row.email, template="password_changed", locale=row.locale,
                 params={"name": row.name}, now=now)
    return Outcome(get_user(conn, row.id))
