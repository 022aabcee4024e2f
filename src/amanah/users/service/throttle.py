"""Log-in throttling that slows guessers without locking out the innocent.

Three counters, each a row of ``login_throttles``:

- the **account**'s (keyed by the typed e-mail, whether or not it has an account, so the answers
  reveal nothing): after ``LOGIN_FAILURES_BEFORE_DELAY`` failures the next attempt waits, 1 s,
  then 2, 4… up to 15 minutes, and after ``LOGIN_FAILURES_BEFORE_CAPTCHA`` it needs a captcha.
  Both are waived for an attempt with a solved captcha, so an attacker hammering someone's
  account from elsewhere cannot keep the owner out;
- the **pair**'s (that account from that client address): the same doubling wait, never waived.
  The guesser's own attempts at that account slow down, captcha or not, and nobody else's;
- the **address**'s (IPv4, or the /64 of IPv6): not failures but the number of *accounts* that
  failed from there. Only when failures spread over ``LOGIN_ACCOUNTS_BEFORE_ADDRESS_CAPTCHA``
  accounts (one password tried at many accounts) does every log-in from there need a captcha,
  which a solved one waives. One account's burst never touches its neighbours behind the same
  router.

A counter with no failure for a day is forgotten. A success clears the account's counter only
(clearing the pair's or the address's would let a guesser reset them by logging into an
account of his own between guesses).

Race-free: the account's row is created if missing and locked (``SELECT … FOR UPDATE``) before
the attempt is judged, so parallel attempts at one account are judged one after the other, each
seeing the failures before it; every increment is one atomic upsert.
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

    @property
    def pair(self) -> str:
        """This account from this address (hashed: both parts together are too long a key)."""
        digest = hashlib.sha256(f"{self.account}|{self.address}".encode("utf-8")).hexdigest()[:40]
        return f"pair:{digest}"


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


def _forget_before(now: datetime) -> datetime:
    return now - timedelta(seconds=limits.LOGIN_FAILURES_FORGOTTEN_AFTER_S)


def counter(conn: Connection, key: str, now: datetime) -> Counter:
    row = conn.execute(sa.select(login_throttles).where(login_throttles.c.key == key)).first()
    return _counter_of(row, now)


def _counter_of(row, now: datetime) -> Counter:
    if row is None or row.last_failure_at < _forget_before(now):
        return Counter(0, None)
    return Counter(row.failures, row.blocked_until)


def hold(conn: Connection, key: str, now: datetime) -> Counter:
    """The key's counter, its row locked until the transaction ends (made first if missing, as
    an already-forgotten counter: no failure is invented), so attempts at one account are
    judged one at a time."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    forgotten = _forget_before(now) - timedelta(seconds=1)
    conn.execute(dialect.insert(login_throttles).values(key=key, failures=0, last_failure_at=forgotten)
                 .on_conflict_do_nothing(index_elements=[login_throttles.c.key]))
    row = conn.execute(sa.select(login_throttles).where(login_throttles.c.key == key).with_for_update()).first()
    return _counter_of(row, now)


def check(conn: Connection, keys: Keys, *, captcha_solved: bool, now: datetime) -> TooManyAttempts | None:
    """The reason this attempt may not be judged now, or None. Holds the account's row (``hold``)."""
    account = hold(conn, keys.account, now)
    pair, address = counter(conn, keys.pair, now), counter(conn, keys.address, now)
    if pair.blocked_until and pair.blocked_until > now:
        return wait_error(pair.blocked_until, now)
    if account.blocked_until and account.blocked_until > now and not captcha_solved:
        return wait_error(account.blocked_until, now, captcha_helps=True)
    if captcha_solved:
        return None
    if account.failures >= limits.LOGIN_FAILURES_BEFORE_CAPTCHA or (
            address.failures >= limits.LOGIN_ACCOUNTS_BEFORE_ADDRESS_CAPTCHA):
        return TooManyAttempts("Too many failed attempts: solve a captcha (GET /v1/captcha) and send "
                               "captcha_id and captcha_answer with the next attempt.",
                               retry_after_s=0, code="captcha_required")
    return None


def wait_error(until: datetime, now: datetime, *, captcha_helps: bool = False) -> TooManyAttempts:
    seconds = max(1, math.ceil((until - now).total_seconds()))
    hint = " or solve a captcha (GET /v1/captcha) and send it with the attempt" if captcha_helps else ""
    return TooManyAttempts(f"Too many failed attempts: try again in {seconds} s{hint}.", retry_after_s=seconds)


def record_log_in_failure(conn: Connection, keys: Keys, now: datetime) -> None:
    """A failed log-in: the account's and the pair's failures grow (each with its wait); the
    address's count grows only when this is the pair's first failure, i.e. a new account
    failed from there."""
    record_failure(conn, (keys.account,), now)
    if _increment(conn, keys.pair, now) == 1:
        _increment(conn, keys.address, now)
    _set_wait(conn, keys.pair, now)


def record_failure(conn: Connection, keys: tuple[str, ...], now: datetime) -> None:
    """One more failure on each key, and the wait it brings."""
    for key in keys:
        _increment(conn, key, now)
        _set_wait(conn, key, now)


def _set_wait(conn: Connection, key: str, now: datetime) -> None:
    wait_s = delay_s(counter(conn, key, now).failures)
    conn.execute(login_throttles.update().where(login_throttles.c.key == key).values(
        blocked_until=now + timedelta(seconds=wait_s) if wait_s else None))


def _increment(conn: Connection, key: str, now: datetime) -> int:
    """One statement, safe against a concurrent first failure of the same key; the new count."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(login_throttles).values(key=key, failures=1, last_failure_at=now)
    table = login_throttles
    return conn.execute(insert.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={"failures": sa.case((table.c.last_failure_at < _forget_before(now), 1), else_=table.c.failures + 1),
              "last_failure_at": now},
    ).returning(table.c.failures)).scalar_one()


def clear(conn: Connection, key: str) -> None:
    conn.execute(login_throttles.delete().where(login_throttles.c.key == key))
