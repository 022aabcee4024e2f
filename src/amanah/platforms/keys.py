"""A platform's secret keys: made, rotated, revoked, checked.

A platform authenticates with ``Authorization: Bearer sk_…``; only the key's SHA-256 is stored
(the key is 256 random bits, so a plain hash is enough and a look-up by it is one index probe).
A platform may hold several keys at once, so a key can be replaced without downtime: a
rotation makes a new key and gives the others a grace period (``expires_at``), after which they
are refused; a revocation ends one key at once; disabling the platform ends all of them until it
is enabled again. A key that is revoked, expired or whose platform is disabled is refused with
exactly the answer an unknown key gets, so a caller learns nothing from which it was.

The check is one statement on the unique ``key_hash`` index joined to the platform by primary
key, with no cache: a revocation committed by any process (the CLI, the back office, another
server) applies to the very next request everywhere."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from amanah.core import limits
from amanah.core.errors import AuthenticationFailed, Conflict, InvalidRequest, NotFound
from amanah.core.ids import new_id
from amanah.core.secrets import hash_secret, new_secret
from amanah.platforms.models import platform_keys, platforms

KEY_PREFIX = "sk"
INVALID_KEY_MESSAGE = "The platform key is not valid."


class KeyStatus(enum.StrEnum):
    ACTIVE = "active"
    """Works, with no end set."""
    EXPIRING = "expiring"
    """Works until ``expires_at`` (a rotation's grace period)."""
    EXPIRED = "expired"
    """Its grace period is over: refused."""
    REVOKED = "revoked"
    """An operator revoked it: refused."""


@dataclass(frozen=True)
class PlatformKey:
    """A key as an operator sees it: never the secret nor its hash."""

    id: str
    platform_id: str
    last4: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    status: KeyStatus

    def to_dict(self) -> dict:
        return {"id": self.id, "platform_id": self.platform_id, "last4": self.last4,
                "created_at": self.created_at, "expires_at": self.expires_at, "revoked_at": self.revoked_at,
                "status": self.status.value}


def status_of(row, now: datetime) -> KeyStatus:
    if row.revoked_at is not None:
        return KeyStatus.REVOKED
    if row.expires_at is None:
        return KeyStatus.ACTIVE
    return KeyStatus.EXPIRING if row.expires_at > now else KeyStatus.EXPIRED


def _key(row, now: datetime) -> PlatformKey:
    return PlatformKey(row.id, row.platform_id, row.last4, row.created_at, row.expires_at, row.revoked_at,
                       status_of(row, now))


def _working(now: datetime):
    return sa.and_(platform_keys.c.revoked_at.is_(None),
                   sa.or_(platform_keys.c.expires_at.is_(None), platform_keys.c.expires_at > now))


def add_key(connection: Connection, platform_id: str, *, now: datetime) -> tuple[PlatformKey, str]:
    """A new key of the platform: (the key, its secret — returned here and never again)."""
    secret = new_secret(KEY_PREFIX)
    key_id = new_id("pk")
    connection.execute(platform_keys.insert().values(id=key_id, platform_id=platform_id,
                                                     key_hash=hash_secret(secret), last4=secret[-4:],
                                                     created_at=now))
    return get_key(connection, platform_id, key_id, now=now), secret


def rotate(connection: Connection, platform_id: str, *, grace_s: int, now: datetime) -> tuple[PlatformKey, str,
                                                                                             list[PlatformKey]]:
    """A new key; every other working key of the platform ends ``grace_s`` from now (0: at
    once) — or sooner, if an earlier rotation already said so: a grace is never lengthened.
    Returns (the new key, its secret, the keys given an end). The platform's row is locked first,
    so two rotations at once are one after the other."""
    if type(grace_s) is not int or not 0 <= grace_s <= limits.PLATFORM_KEY_GRACE_S_MAX:
        raise InvalidRequest(f"grace_s is a whole number of seconds from 0 (the old keys stop at once) to "
                             f"{limits.PLATFORM_KEY_GRACE_S_MAX}.", code="grace_out_of_range", param="grace_s")
    lock_platform(connection, platform_id)
    ends = now + timedelta(seconds=grace_s)
    working = connection.execute(sa.select(platform_keys.c.id).where(
        platform_keys.c.platform_id == platform_id, _working(now))).scalars().all()
    if len(working) >= limits.PLATFORM_KEYS_WORKING_MAX and grace_s > 0:
        raise Conflict(f"This platform already has {len(working)} keys that work; revoke one first, or rotate "
                       "with grace_s 0.", code="too_many_platform_keys", param="grace_s")
    changed = connection.execute(platform_keys.update().where(
        platform_keys.c.platform_id == platform_id, _working(now),
        sa.or_(platform_keys.c.expires_at.is_(None), platform_keys.c.expires_at > ends),
    ).values(expires_at=ends).returning(platform_keys.c.id)).scalars().all()
    made, secret = add_key(connection, platform_id, now=now)
    return made, secret, [get_key(connection, platform_id, key_id, now=now) for key_id in changed]


def revoke(connection: Connection, platform_id: str, key_id: str, *, now: datetime) -> tuple[PlatformKey, bool]:
    """Ends the platform's key at once: (the key, whether this call revoked it). Revoking it
    again changes nothing; another platform's key is not found."""
    get_key(connection, platform_id, key_id, now=now)  # another platform's: not found
    changed = connection.execute(platform_keys.update().where(
        platform_keys.c.id == key_id, platform_keys.c.platform_id == platform_id,
        platform_keys.c.revoked_at.is_(None)).values(revoked_at=now).returning(platform_keys.c.id)).first()
    return get_key(connection, platform_id, key_id, now=now), changed is not None


def get_key(connection: Connection, platform_id: str, key_id: str, *, now: datetime) -> PlatformKey:
    row = connection.execute(sa.select(platform_keys).where(
        platform_keys.c.id == key_id, platform_keys.c.platform_id == platform_id)).first()
    if row is None:
        raise NotFound(f"No key {key_id[:40]} of platform {platform_id[:40]}.", param="key_id")
    return _key(row, now)


def list_keys(connection: Connection, platform_id: str, *, now: datetime, limit: int = limits.PAGE_LIMIT_DEFAULT,
              starting_after: str | None = None) -> tuple[list[PlatformKey], bool]:
    """The platform's keys, newest first (ids sort by creation), keyset-paginated."""
    assert 1 <= limit <= limits.PAGE_LIMIT_MAX
    query = sa.select(platform_keys).where(platform_keys.c.platform_id == platform_id)
    if starting_after:
        query = query.where(platform_keys.c.id < starting_after)
    rows = connection.execute(query.order_by(platform_keys.c.id.desc()).limit(limit + 1)).all()
    return [_key(row, now) for row in rows[:limit]], len(rows) > limit


def lock_platform(connection: Connection, platform_id: str):
    """The platform's row, locked for this transaction (PostgreSQL; SQLite has one writer)."""
    row = connection.execute(sa.select(platforms.c.id, platforms.c.name, platforms.c.disabled_at)
                             .where(platforms.c.id == platform_id).with_for_update()).first()
    if row is None:
        raise NotFound(f"No platform {platform_id[:40]}.", param="platform_id")
    return row


_AUTHENTICATE = (
    sa.select(platforms.c.id, platforms.c.name)
    .select_from(platform_keys.join(platforms, platforms.c.id == platform_keys.c.platform_id))
    .where(platform_keys.c.key_hash == sa.bindparam("key_hash"), platform_keys.c.revoked_at.is_(None),
           sa.or_(platform_keys.c.expires_at.is_(None), platform_keys.c.expires_at > sa.bindparam("now")),
           platforms.c.disabled_at.is_(None))
)


def authenticate(connection: Connection, secret: str, *, now: datetime):
    """The platform whose working key this is: (id, name); else the one 401 every refused key gets."""
    row = connection.execute(_AUTHENTICATE, {"key_hash": hash_secret(secret), "now": now}).first()
    if row is None:
        raise AuthenticationFailed(INVALID_KEY_MESSAGE, code="invalid_api_key")
    return row
