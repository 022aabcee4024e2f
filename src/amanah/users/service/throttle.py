"""Log-in throttling, per account and per client address.

Each failure adds one to two counters: the account's (keyed by the typed e-mail, whether or not
it has an account, so the answers reveal nothing) and the client address's (IPv4, or the /64 of
an IPv6 address). After ``LOGIN_FAILURES_BEFORE_DELAY`` failures a counter makes the next
attempt wait, 1 s, then 2, 4… up to 15 minutes; after ``LOGIN_FAILURES_BEFORE_CAPTCHA`` either
counter asks for a captcha. A counter with no failure for a day is forgotten.

No long lock-out of a real user: the account's delay is waived for an attempt that comes with a
solved captcha, so an attacker hammering someone's account from elsewhere slows only himself
(his address's delay is never waived), and the owner can still log in. A success clears the
account's counter only: clearing the address's would let an attacker reset it by logging into
an account of his own between guesses.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from amanah.core import limits
from amanah.users.errors import TooManyAttempts
from amanah.users.models import login_throttles


@dataclass(frozen=True)
class Keys:
    account: str
    address: str


@dataclass(frozen=True)
class Counter:
    failures: int
    blocked_until: datetime | None


def keys_for(email_key: str, client_address: str) -> Keys:
    account = hashlib.sha256(email_key.encode("utf-8")).hexdigest()[:40]
    return Keys(f"account:{account}", f"address:{address_group(client_address)}")


def address_group(client_address: str) -> str:
    """IPv4 as is; IPv6 by its /64 (one home or host gets a whole /64)."""
    try:
        address = ipaddress.ip_address(client_address)
    except ValueError:
        return client_address[:64] or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def delay_s(failures: int) -> int:
    if failures < limits.LOGIN_FAILURES_BEFORE_DELAY:
        return 0
    doublings = failures - limits.LOGIN_FAILURES_BEFORE_DELAY
    if doublings >= 20:
        return limits.LOGIN_DELAY_MAX_S
    return min(limits.LOGIN_DELAY_FIRST_S * 2**doublings, limits.LOGIN_DELAY_MAX_S)


def counter(conn: Connection, key: str, now: datetime) -> Counter:
    row = conn.execute(sa.select(login_throttles).where(login_throttles.c.key == key)).first()
    forget_before = now - timedelta(seconds=limits.LOGIN_FAILURES_FORGOTTEN_AFTER_S)
    if row is None or row.last_failure_at < forget_before:
        return Counter(0, None)
    return Counter(row.failures, row.blocked_until)


def check(conn: Connection, keys: Keys, *, captcha_solved: bool, now: datetime) -> TooManyAttempts | None:
    """The reason this attempt may not be judged now, or None."""
    address, account = counter(conn, keys.address, now), counter(conn, keys.account, now)
    if address.blocked_until and address.blocked_until > now:
        return wait_error(address.blocked_until, now)
    if account.blocked_until and account.blocked_until > now and not captcha_solved:
        return wait_error(account.blocked_until, now, captcha_helps=True)
    if not captcha_solved and max(address.failures, account.failures) >= limits.LOGIN_FAILURES_BEFORE_CAPTCHA:
        return TooManyAttempts("Too many failed attempts: solve a captcha (GET /v1/captcha) and send "
                               "captcha_id and captcha_answer with the next attempt.",
                               retry_after_s=0, code="captcha_required")
    return None


def wait_error(until: datetime, now: datetime, *, captcha_helps: bool = False) -> TooManyAttempts:
    seconds = max(1, math.ceil((until - now).total_seconds()))
    hint = " or solve a captcha (GET /v1/captcha) and send it with the attempt" if captcha_helps else ""
    return TooManyAttempts(f"Too many failed attempts: try again in {seconds} s{hint}.", retry_after_s=seconds)


def record_failure(conn: Connection, keys: tuple[str, ...], now: datetime) -> None:
    forget_before = now - timedelta(seconds=limits.LOGIN_FAILURES_FORGOTTEN_AFTER_S)
    for key in keys:
        _increment(conn, key, now, forget_before)
        failures = counter(conn, key, now).failures
        wait_s = delay_s(failures)
        conn.execute(login_throttles.update().where(login_throttles.c.key == key).values(
            blocked_until=now + timedelta(seconds=wait_s) if wait_s else None))


def _increment(conn: Connection, key: str, now: datetime, forget_before: datetime) -> None:
    """One statement, safe against a concurrent first failure of the same key."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(login_throttles).values(key=key, failures=1, last_failure_at=now)
    table = login_throttles
    conn.execute(insert.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={"failures": sa.case((table.c.last_failure_at < forget_before, 1), else_=table.c.failures + 1),
              "last_failure_at": now},
    ))


def clear(conn: Connection, key: str) -> None:
    conn.execute(login_throttles.delete().where(login_throttles.c.key == key))
