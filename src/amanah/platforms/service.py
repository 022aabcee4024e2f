"""Platforms, their keys and sellers, and the buyers they name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from amanah.core.errors import AuthenticationFailed, InvalidRequest, NotFound, PermissionDenied
from amanah.core.ids import new_id
from amanah.core.secrets import hash_secret, new_secret
from amanah.platforms.models import platform_users, platforms, sellers
from amanah.users import service as users

KEY_PREFIX = "sk"


@dataclass(frozen=True)
class Platform:
    id: str
    name: str


@dataclass(frozen=True)
class Seller:
    id: str
    platform_id: str
    platform_seller_id: str
    user_id: str
    name: str
    email: str
    created_at: datetime

    def to_dict(self) -> dict:
        return {"id": self.id, "platform_seller_id": self.platform_seller_id, "user_id": self.user_id,
                "name": self.name, "email": self.email, "created_at": self.created_at}


def create_platform(connection: Connection, *, name: str, now: datetime) -> tuple[Platform, str]:
    """A new platform; its secret key is returned here and never again."""
    name = " ".join(name.split())
    if not 1 <= len(name) <= 100:
        raise InvalidRequest("A platform's name is 1 to 100 characters.", param="name")
    secret = new_secret(KEY_PREFIX)
    platform = Platform(new_id("plt"), name)
    connection.execute(platforms.insert().values(id=platform.id, name=name, key_hash=hash_secret(secret),
                                                 created_at=now))
    return platform, secret


def authenticate(connection: Connection, secret: str) -> Platform:
    row = connection.execute(sa.select(platforms.c.id, platforms.c.name).where(
        platforms.c.key_hash == hash_secret(secret), platforms.c.disabled_at.is_(None))).first()
    if row is None:
        raise AuthenticationFailed("The platform key is not valid.", code="invalid_api_key")
    return Platform(row.id, row.name)


def get_platform(connection: Connection, platform_id: str) -> Platform:
    row = connection.execute(sa.select(platforms.c.id, platforms.c.name).where(platforms.c.id == platform_id)).first()
    if row is None:
        raise NotFound(f"No platform {platform_id}.")
    return Platform(row.id, row.name)


def _seller(row) -> Seller:
    return Seller(row.id, row.platform_id, row.platform_seller_id, row.user_id, row.name, row.email, row.created_at)




def _seller_query():
    from amanah.users.models import users as users_table

    return sa.select(sellers, users_table.c.email).join(users_table, users_table.c.id == sellers.c.user_id)


def register_seller(connection: Connection, platform_id: str, *, platform_seller_id: str, email: str,
                    name: str, now: datetime) -> tuple[Seller, bool]:
    """The platform's seller account, created (with a user and an e-mail inviting them to set a
    password) the first time; (seller, created)."""
    existing = find_seller(connection, platform_id, platform_seller_id)
    if existing is not None:
        return existing, False
    user = users.register_automatically(connection, email, name, now=now)
    seller_id = new_id("sel")
    connection.execute(sellers.insert().values(
        id=seller_id, platform_id=platform_id, platform_seller_id=platform_seller_id, user_id=user.id,
        name=" ".join(name.split()) or user.name, created_at=now))
    return get_seller(connection, platform_id, seller_id), True


def find_seller(connection: Connection, platform_id: str, platform_seller_id: str) -> Seller | None:
    row = connection.execute(_seller_query().where(
        sellers.c.platform_id == platform_id, sellers.c.platform_seller_id == platform_seller_id)).first()
    return _seller(row) if row else None


def get_seller(connection: Connection, platform_id: str, seller_id: str) -> Seller:
    """The platform's own seller; another platform's is not found."""
    row = connection.execute(_seller_query().where(
        sellers.c.id == seller_id, sellers.c.platform_id == platform_id)).first()
    if row is None:
        raise NotFound(f"No seller {seller_id}.", param="seller_id")
    return _seller(row)


def link_buyer(connection: Connection, platform_id: str, *, platform_user_id: str, email: str,
               now: datetime, name: str | None = None) -> users.User:
    """The user behind the platform's buyer: found by the platform's id, else by e-mail, else
    registered automatically (the seed's "paying once registers you")."""
    row = connection.execute(sa.select(platform_users.c.user_id).where(
        platform_users.c.platform_id == platform_id, platform_users.c.platform_user_id == platform_user_id)).first()
    if row is not None:
        return users.get_user(connection, row.user_id)
    existed = users.find_user_by_email(connection, email) is not None
    user = users.register_automatically(connection, email, name, now=now)
    connection.execute(platform_users.insert().values(
        platform_id=platform_id, platform_user_id=platform_user_id, user_id=user.id,
        registered_here=not existed, created_at=now))
    return user


def buyer_for_login_link(connection: Connection, platform_id: str, *, platform_user_id: str,
                         email: str) -> users.User:
    """The platform's buyer that a single sign-on link may log in: one this platform
    registered, or one who has paid one of its trades. Naming someone else's e-mail opens
    nothing: a platform cannot log into an account it has no standing with."""
    from amanah.trades.models import trades

    row = connection.execute(sa.select(platform_users).where(
        platform_users.c.platform_id == platform_id, platform_users.c.platform_user_id == platform_user_id)).first()
    user = users.get_user(connection, row.user_id) if row else None
    if user is None or user.email != users.normalize_email(email):
        raise NotFound("No buyer with that id and e-mail at this platform.", param="platform_user_id")
    paid_here = connection.execute(sa.select(trades.c.id).where(
        trades.c.platform_id == platform_id, trades.c.buyer_user_id == user.id,
        trades.c.paid_at.is_not(None)).limit(1)).first()
    if not row.registered_here and paid_here is None:
        raise PermissionDenied("Single sign-on works for buyers your marketplace registered or who have paid "
                               "one of its trades.", code="sso_not_allowed", param="platform_user_id")
    return user


def platform_user_id_of(connection: Connection, platform_id: str, user_id: str) -> str | None:
    row = connection.execute(sa.select(platform_users.c.platform_user_id).where(
        platform_users.c.platform_id == platform_id, platform_users.c.user_id == user_id)).first()
    return row.platform_user_id if row else None


def forget_user(connection: Connection, user_id: str) -> None:
    """Account closure: the platforms' buyer links to the user are dropped (the same buyer
    paying again gets a new account, not the closed one) and seller names blanked; seller rows
    stay, as trades name them."""
    connection.execute(platform_users.delete().where(platform_users.c.user_id == user_id))
    connection.execute(sellers.update().where(sellers.c.user_id == user_id).values(name=""))
