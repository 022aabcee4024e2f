"""Accounts: registration (direct and automatic), lookup, e-mail verification."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError

from amanah import mail
from amanah.core import limits, service_mode
from amanah.core.config import Settings
from amanah.core.errors import InvalidRequest, NotFound
from amanah.core.ids import new_id
from amanah.mail.templates import resolve_locale
from amanah.users.errors import EmailTaken, InvalidEmail, InvalidLink
from amanah.users.models import users
from amanah.users.service import passwords, tokens


@dataclass(frozen=True)
class User:
    id: str
    email: str
    name: str
    locale: str
    email_verified: bool
    two_factor_enabled: bool
    has_password: bool
    created_at: datetime

    @classmethod
    def from_row(cls, row: Row) -> "User":
        return cls(row.id, row.email, row.name, row.locale, row.email_verified_at is not None,
                   row.totp_secret is not None, row.password_hash is not None, row.created_at)


def normalize_email(email: str) -> str:
    """The address as stored: syntax checked (no DNS look-up), lower-cased."""
    if not isinstance(email, str) or len(email) > limits.EMAIL_LENGTH_MAX:
        raise InvalidEmail("This e-mail address is too long.", param="email")
    try:
        checked = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError as error:
        raise InvalidEmail(f"This is not a valid e-mail address: {error}", param="email") from None
    return checked.normalized.lower()


def lookup_key(email: str) -> str:
    """How an address typed at log-in is looked up (no validation: a malformed address is
    simply an unknown one, answered like any other)."""
    return email.strip().lower()[: limits.EMAIL_LENGTH_MAX + 1]


def _clean_name(name: str | None) -> str:
    name = (name or "").strip()
    if len(name) > limits.USER_NAME_LENGTH_MAX:
        raise InvalidRequest(f"The name may have at most {limits.USER_NAME_LENGTH_MAX} characters.", param="name")
    if any(ord(character) < 32 for character in name):
        raise InvalidRequest("The name must not contain control characters.", code="invalid_name", param="name")
    return name


def user_row(conn: Connection, user_id: str, *, for_update: bool = False) -> Row:
    query = sa.select(users).where(users.c.id == user_id)
    row = conn.execute(query.with_for_update() if for_update else query).first()
    if row is None:
        raise NotFound("No such user.")
    return row


def get_user(conn: Connection, user_id: str) -> User:
    return User.from_row(user_row(conn, user_id))


def user_row_by_email(conn: Connection, email: str) -> Row | None:
    return conn.execute(sa.select(users).where(users.c.email == lookup_key(email))).first()


def find_user_by_email(conn: Connection, email: str) -> User | None:
    row = user_row_by_email(conn, email)
    return None if row is None else User.from_row(row)


def refuse_registration_if_winding_down(conn: Connection) -> None:
    """The one place where registration asks the service mode."""
    service_mode.refuse_new_business(conn, "Registration")


def register_user(conn: Connection, settings: Settings, *, email: str, password: str, name: str,
                  locale: str | None = None, now: datetime) -> User:
    """Direct registration on the site: 409 when the address has an account; e-mails a
    verification link."""
    refuse_registration_if_winding_down(conn)
    email, name = normalize_email(email), _clean_name(name)
    passwords.check_policy(password, email=email, name=name)
    if user_row_by_email(conn, email) is not None:
        raise EmailTaken("An account with this e-mail address already exists. Log in, or reset "
                         "the password if you forgot it.", param="email")
    user_id = _insert_user(conn, email=email, name=name, locale=locale, now=now,
                           password_hash=passwords.hash_password(settings, password))
    send_email_verification(conn, user_id, now=now)
    return get_user(conn, user_id)


def register_automatically(conn: Connection, email: str, name: str | None = None,
                           locale: str | None = None, *, now: datetime) -> User:
    """A buyer's first payment at a marketplace: the account for ``email``, created with no
    password if there is none yet (and then invited by e-mail to choose one). Returns the
    existing account otherwise, unchanged."""
    return find_or_register_automatically(conn, email, name, locale, now=now)[0]


def find_or_register_automatically(conn: Connection, email: str, name: str | None = None,
                                   locale: str | None = None, *, now: datetime) -> tuple[User, bool]:
    """``register_automatically``, and whether it created the account (False: it existed, or a
    concurrent request created it a moment before: its INSERT lost on the unique e-mail, and
    that account is read, as if it had been found first — never a 500)."""
    email = normalize_email(email)
    existing = user_row_by_email(conn, email)
    if existing is not None:
        return User.from_row(existing), False
    # Said to the marketplace whose request (a trade, a seller) would open the account.
    service_mode.refuse_new_business(conn, "Opening new accounts", audience="platform")
    try:
        user_id = _insert_user(conn, email=email, name=_clean_name(name), locale=locale, now=now,
                               password_hash=None, automatically=True)
    except EmailTaken:
        raced = user_row_by_email(conn, email)
        if raced is None:
            raise
        return User.from_row(raced), False
    from amanah.users.service.reset import send_set_password_link

    send_set_password_link(conn, user_row(conn, user_id), template="invitation",
                           ttl_s=limits.INVITATION_TTL_S, now=now)
    return get_user(conn, user_id), True


def _insert_user(conn: Connection, *, email: str, name: str, locale: str | None, now: datetime,
                 password_hash: str | None, automatically: bool = False) -> str:
    user_id = new_id("usr")
    try:
        with conn.begin_nested():
            conn.execute(users.insert().values(
                id=user_id, email=email, name=name, locale=resolve_locale(locale), password_hash=password_hash,
                password_changed_at=now if password_hash else None, registered_automatically=automatically,
                created_at=now, updated_at=now,
            ))
    except IntegrityError:
        # Registered at the same moment by a concurrent request.
        raise EmailTaken("An account with this e-mail address already exists.", param="email") from None
    return user_id


def send_email_verification(conn: Connection, user_id: str, *, now: datetime) -> None:
    row = user_row(conn, user_id)
    if row.email_verified_at is not None:
        return
    link = tokens.issue(conn, user_id=user_id, purpose=tokens.Purpose.EMAIL_VERIFICATION,
                        ttl_s=limits.EMAIL_VERIFICATION_TTL_S, now=now)
    mail.enqueue(conn, to=row.email, template="verify_email", locale=row.locale,
                 params={"token": link.secret, "name": row.name}, now=now)


def confirm_email(conn: Connection, token: str, *, now: datetime) -> User:
    used = tokens.consume(conn, token, tokens.Purpose.EMAIL_VERIFICATION, now)
    if used is None:
        raise InvalidLink()
    conn.execute(users.update().where(users.c.id == used.user_id, users.c.email_verified_at.is_(None))
                 .values(email_verified_at=now, updated_at=now))
    return get_user(conn, used.user_id)
