"""Operator accounts and their back-office sessions.

An account is an e-mail, an Argon2id password hash and a TOTP secret, all made by ``amanah
operators create``, which prints a one-time password (changed at the first log-in) and the
secret's ``otpauth://`` URI once. Log-in needs all three — e-mail, password AND the current
TOTP code, which is never accepted twice (``totp_last_step``) — and is throttled exactly like
the users' sign-in (the same counters and captcha, keyed apart from users' e-mails). Password
hashing, TOTP and throttling are the users domain's own functions.

A session is a random secret in a cookie, stored as its SHA-256 digest; it ends at log-out,
after ``OPERATOR_SESSION_TTL_S``, after ``OPERATOR_SESSION_IDLE_S`` without a request, or when
the account is disabled. Its CSRF token is derived from it as the cabinet's is."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from amanah.core import limits
from amanah.core.config import Settings
from amanah.core.errors import InvalidRequest, NotFound
from amanah.core.ids import new_id
from amanah.core.secrets import hash_secret
from amanah.operators.errors import OperatorExists, OperatorLogInFailed
from amanah.operators.models import operator_accounts, operator_sessions
from amanah.users import service as users
from amanah.users.errors import CaptchaInvalid
from amanah.users.service import passwords, throttle, two_factor
from amanah.users.service.accounts import lookup_key
from amanah.users.service.tokens import clean_user_agent, csrf_token_for

SESSION_PREFIX = "bos_"
TOTP_ISSUER = "Amanah back office"
TOUCH_EVERY_S = 60
"""A session's ``last_seen_at`` is written at most once a minute (not on every page)."""


@dataclass(frozen=True)
class OperatorAccount:
    id: str
    email: str
    password_change_required: bool
    created_at: datetime
    disabled_at: datetime | None

    @classmethod
    def from_row(cls, row: Row) -> "OperatorAccount":
        return cls(row.id, row.email, row.password_change_required, row.created_at, row.disabled_at)


@dataclass(frozen=True)
class NewCredentials:
    """Shown once by the command line, never stored as given."""

    account: OperatorAccount
    one_time_password: str
    totp_secret: str
    otpauth_uri: str


@dataclass(frozen=True)
class OperatorSession:
    session_id: str
    csrf_token: str
    expires_at: datetime
    operator: OperatorAccount


def _one_time_password() -> str:
    return secrets.token_urlsafe(limits.OPERATOR_ONE_TIME_PASSWORD_BYTES)


def _credentials(settings: Settings, email: str) -> tuple[dict, str, str, str]:
    password, secret = _one_time_password(), two_factor.new_totp_secret()
    values = {"password_hash": passwords.hash_password(settings, password), "password_change_required": True,
              "totp_secret": secret, "totp_last_step": None}
    return values, password, secret, two_factor.otpauth_uri(secret, email, TOTP_ISSUER)


def create_account(conn: Connection, settings: Settings, *, email: str, now: datetime) -> NewCredentials:
    email = users.normalize_email(email)
    if conn.execute(sa.select(operator_accounts.c.id).where(operator_accounts.c.email == email)).first():
        raise OperatorExists(f"There is already an operator account for {email}.", param="email")
    values, password, secret, uri = _credentials(settings, email)
    operator_id = new_id("opr")
    conn.execute(operator_accounts.insert().values(id=operator_id, email=email, created_at=now, updated_at=now,
                                                   **values))
    return NewCredentials(get_account(conn, operator_id), password, secret, uri)


def reset_credentials(conn: Connection, settings: Settings, id_or_email: str, *, now: datetime) -> NewCredentials:
    """A new one-time password and a new TOTP secret (a lost phone); every session ends."""
    account = find_account(conn, id_or_email)
    values, password, secret, uri = _credentials(settings, account.email)
    conn.execute(operator_accounts.update().where(operator_accounts.c.id == account.id)
                 .values(updated_at=now, **values))
    _end_all_sessions(conn, account.id, now)
    return NewCredentials(get_account(conn, account.id), password, secret, uri)


def get_account(conn: Connection, operator_id: str) -> OperatorAccount:
    row = conn.execute(sa.select(operator_accounts).where(operator_accounts.c.id == operator_id)).first()
    if row is None:
        raise NotFound(f"No operator account {operator_id[:40]}.")
    return OperatorAccount.from_row(row)


def find_account(conn: Connection, id_or_email: str) -> OperatorAccount:
    """By id (``opr_…``) or by e-mail address."""
    key = id_or_email.strip()
    match = operator_accounts.c.id == key if key.startswith("opr_") else operator_accounts.c.email == lookup_key(key)
    row = conn.execute(sa.select(operator_accounts).where(match)).first()
    if row is None:
        raise NotFound(f"No operator account {key[:80]}.")
    return OperatorAccount.from_row(row)


def list_accounts(conn: Connection) -> list[OperatorAccount]:
    rows = conn.execute(sa.select(operator_accounts).order_by(operator_accounts.c.created_at,
                                                              operator_accounts.c.id))
    return [OperatorAccount.from_row(row) for row in rows]


def disable_account(conn: Connection, id_or_email: str, *, now: datetime) -> OperatorAccount:
    """No more log-ins; every session of the account ends now. (Disabling twice is a no-op.)"""
    account = find_account(conn, id_or_email)
    conn.execute(operator_accounts.update().where(operator_accounts.c.id == account.id,
                                                  operator_accounts.c.disabled_at.is_(None))
                 .values(disabled_at=now, updated_at=now))
    _end_all_sessions(conn, account.id, now)
    return get_account(conn, account.id)


def log_in(conn: Connection, settings: Settings, *, email: str, password: str, totp_code: str | None,
           client_address: str, captcha_id: str | None = None, captcha_answer: str | None = None,
           now: datetime) -> users.Outcome[OperatorAccount]:
    """Password AND current TOTP code, throttled; the caller commits, then ``unwrap()``s (so a
    failure is counted even though the request fails)."""
    user_keys = throttle.keys_for("operator:" + lookup_key(email), client_address)
    # Counters of their own, address included: an operator mistyping a code behind the office's
    # address must not put the cabinet's log-in for everyone there behind a captcha.
    keys = throttle.Keys(user_keys.account, "backoffice-" + user_keys.address)
    captcha_solved = False
    if captcha_id or captcha_answer:
        if not users.consume_captcha(conn, captcha_id, captcha_answer, now=now):
            return users.Outcome(error=CaptchaInvalid())
        captcha_solved = True
    if (refusal := throttle.check(conn, keys, captcha_solved=captcha_solved, now=now)) is not None:
        return users.Outcome(error=refusal)
    row = conn.execute(sa.select(operator_accounts).where(operator_accounts.c.email == lookup_key(email))).first()
    usable = row is not None and row.disabled_at is None
    # Always one Argon2 verification, so a wrong e-mail takes as long as a wrong password.
    password_ok = passwords.verify_password(settings, row.password_hash if usable else None, password)
    step = two_factor.matching_step(row.totp_secret, totp_code or "", now) if usable else None
    # The code is claimed (compare-and-set on the last used step) only after the password
    # passed: a wrong password must not burn the operator's current code.
    fresh = password_ok and step is not None and two_factor.claim_step(conn, operator_accounts, row.id, step)
    if not fresh:
        throttle.record_log_in_failure(conn, keys, now)
        return users.Outcome(error=OperatorLogInFailed())
    values = {"updated_at": now}
    if passwords.needs_rehash(settings, row.password_hash):
        values["password_hash"] = passwords.hash_password(settings, password)
    conn.execute(operator_accounts.update().where(operator_accounts.c.id == row.id).values(**values))
    throttle.clear(conn, keys.account)
    return users.Outcome(OperatorAccount.from_row(row))


def change_password(conn: Connection, settings: Settings, operator_id: str, *, current_password: str,
                    new_password: str, now: datetime) -> OperatorAccount:
    row = conn.execute(sa.select(operator_accounts).where(operator_accounts.c.id == operator_id)
                       .with_for_update()).first()
    if row is None or row.disabled_at is not None:
        raise NotFound("No such operator account.")
    if not passwords.verify_password(settings, row.password_hash, current_password):
        raise InvalidRequest("The current password is wrong.", code="invalid_credentials",
                             param="current_password")
    passwords.check_policy(new_password, email=row.email)
    if passwords.verify_password(settings, row.password_hash, new_password):
        raise InvalidRequest("Choose a password other than the current one.", code="weak_password",
                             param="new_password")
    conn.execute(operator_accounts.update().where(operator_accounts.c.id == operator_id).values(
        password_hash=passwords.hash_password(settings, new_password), password_change_required=False,
        updated_at=now))
    return get_account(conn, operator_id)


def start_session(conn: Connection, operator_id: str, *, user_agent: str | None, now: datetime) -> OperatorSession:
    secret = SESSION_PREFIX + secrets.token_urlsafe(limits.SECRET_BYTES)
    expires_at = now + timedelta(seconds=limits.OPERATOR_SESSION_TTL_S)
    conn.execute(operator_sessions.insert().values(
        token_hash=hash_secret(secret), operator_id=operator_id, created_at=now, expires_at=expires_at,
        last_seen_at=now, user_agent=clean_user_agent(user_agent)))
    return OperatorSession(secret, csrf_token_for(secret), expires_at, get_account(conn, operator_id))


def _well_formed(session_id: object) -> bool:
    return (isinstance(session_id, str) and session_id.startswith(SESSION_PREFIX)
            and len(session_id) <= limits.SECRET_TEXT_LENGTH_MAX)


def session_operator(conn: Connection, session_id: str | None, *, now: datetime) -> OperatorAccount | None:
    """The operator of a current session (None if it is unknown, ended, expired or idle, or the
    account is disabled); refreshes the idle timer."""
    if not _well_formed(session_id):
        return None
    idle_since = now - timedelta(seconds=limits.OPERATOR_SESSION_IDLE_S)
    row = conn.execute(
        sa.select(operator_sessions.c.id.label("session_row_id"),
                  operator_sessions.c.last_seen_at.label("session_seen_at"), operator_accounts)
        .join(operator_accounts, operator_accounts.c.id == operator_sessions.c.operator_id)
        .where(operator_sessions.c.token_hash == hash_secret(session_id), operator_sessions.c.ended_at.is_(None),
               operator_sessions.c.expires_at > now, operator_sessions.c.last_seen_at > idle_since,
               operator_accounts.c.disabled_at.is_(None))).first()
    if row is None:
        return None
    if (now - row.session_seen_at).total_seconds() >= TOUCH_EVERY_S:
        conn.execute(operator_sessions.update().where(operator_sessions.c.id == row.session_row_id)
                     .values(last_seen_at=now))
    return OperatorAccount.from_row(row)


def end_session(conn: Connection, session_id: str, *, now: datetime) -> bool:
    if not _well_formed(session_id):
        return False
    result = conn.execute(operator_sessions.update().where(
        operator_sessions.c.token_hash == hash_secret(session_id), operator_sessions.c.ended_at.is_(None))
        .values(ended_at=now))
    return result.rowcount == 1


def _end_all_sessions(conn: Connection, operator_id: str, now: datetime) -> None:
    conn.execute(operator_sessions.update().where(operator_sessions.c.operator_id == operator_id,
                                                  operator_sessions.c.ended_at.is_(None)).values(ended_at=now))


def verify_csrf(session_id: str, presented: str | None) -> bool:
    return users.verify_csrf(session_id, presented)

