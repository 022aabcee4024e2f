"""Platforms, their keys and sellers, and the buyers they name."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from amanah.core import limits
from amanah.core.db import insert_on_conflict
from amanah.core.errors import Conflict, InvalidRequest, NotFound, PermissionDenied
from amanah.core.ids import new_id
from amanah.platforms import keys
from amanah.platforms.keys import KEY_PREFIX  # noqa: F401  (the API's bearer check names it)
from amanah.platforms.models import platform_users, platforms, sellers, sso_consents
from amanah.users import service as users


@dataclass(frozen=True)
class Platform:
    id: str
    name: str


class SellerStatus(enum.StrEnum):
    ACTIVE = "active"
    """Trades may name the seller: its account was created for it, or the person accepted."""
    PENDING = "pending"
    """The platform named the e-mail of an existing account; the person has not answered yet."""
    DECLINED = "declined"
    """The person said no (or ended the link): no trade may name the seller."""


CONSENT_TRANSITIONS: dict[SellerStatus, frozenset[SellerStatus]] = {
    SellerStatus.PENDING: frozenset({SellerStatus.ACTIVE, SellerStatus.DECLINED}),
    SellerStatus.ACTIVE: frozenset({SellerStatus.DECLINED}),
    SellerStatus.DECLINED: frozenset({SellerStatus.ACTIVE}),
}
"""What the person may do with a link: accept a request (or change their mind after declining),
decline it, or end an active link (trades already open go on; no new one may name it)."""


@dataclass(frozen=True)
class Seller:
    id: str
    platform_id: str
    platform_seller_id: str
    user_id: str
    name: str
    email: str
    created_at: datetime
    status: SellerStatus = SellerStatus.ACTIVE

    def to_dict(self) -> dict:
        return {"id": self.id, "platform_seller_id": self.platform_seller_id, "user_id": self.user_id,
                "name": self.name, "email": self.email, "status": self.status.value, "created_at": self.created_at}


def create_platform(connection: Connection, *, name: str, now: datetime) -> tuple[Platform, str]:
    """A new platform with its first key; the secret is returned here and never again."""
    name = " ".join(name.split())
    if not 1 <= len(name) <= 100:
        raise InvalidRequest("A platform's name is 1 to 100 characters.", param="name")
    platform = Platform(new_id("plt"), name)
    connection.execute(platforms.insert().values(id=platform.id, name=name, created_at=now))
    _key, secret = keys.add_key(connection, platform.id, now=now)
    return platform, secret


def authenticate(connection: Connection, secret: str, *, now: datetime) -> Platform:
    """The platform of a working key (``platforms.keys``); the same 401 for any other."""
    row = keys.authenticate(connection, secret, now=now)
    return Platform(row.id, row.name)


# A platform's keys (``platforms.keys``): the use cases other packages call through this service.
rotate_key = keys.rotate
revoke_key = keys.revoke
list_keys = keys.list_keys
get_key = keys.get_key
PlatformKey = keys.PlatformKey


@dataclass(frozen=True)
class PlatformState:
    """A platform as an operator sees it."""

    id: str
    name: str
    created_at: datetime
    disabled_at: datetime | None
    fee_bps_max: int

    def to_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "created_at": self.created_at, "disabled_at": self.disabled_at,
                "fee_bps_max": self.fee_bps_max}


def platform_state(connection: Connection, platform_id: str) -> PlatformState:
    row = connection.execute(sa.select(platforms.c.id, platforms.c.name, platforms.c.created_at,
                                       platforms.c.disabled_at, platforms.c.fee_bps_max)
                             .where(platforms.c.id == platform_id)).first()
    if row is None:
        raise NotFound(f"No platform {platform_id[:40]}.", param="platform_id")
    return PlatformState(row.id, row.name, row.created_at, row.disabled_at, row.fee_bps_max)


def set_disabled(connection: Connection, platform_id: str, *, disabled: bool,
                 now: datetime) -> tuple[PlatformState, PlatformState]:
    """Disables the platform (every key of it is refused, at once) or enables it again (its keys
    that are neither revoked nor expired work again): (before, after). Disabling a disabled
    platform keeps the first moment; one conditional UPDATE, so two at once agree."""
    before = platform_state(connection, platform_id)
    connection.execute(platforms.update().where(
        platforms.c.id == platform_id,
        platforms.c.disabled_at.is_(None) if disabled else platforms.c.disabled_at.is_not(None),
    ).values(disabled_at=now if disabled else None))
    return before, platform_state(connection, platform_id)


def get_platform(connection: Connection, platform_id: str) -> Platform:
    row = connection.execute(sa.select(platforms.c.id, platforms.c.name).where(platforms.c.id == platform_id)).first()
    if row is None:
        raise NotFound(f"No platform {platform_id}.")
    return Platform(row.id, row.name)


def _seller(row) -> Seller:
    return Seller(row.id, row.platform_id, row.platform_seller_id, row.user_id, row.name, row.email, row.created_at,
                  SellerStatus(row.status))

def _seller_query():
    from amanah.users.models import users as users_table

    return sa.select(sellers, users_table.c.email).join(users_table, users_table.c.id == sellers.c.user_id)


def register_seller(connection: Connection, platform_id: str, *, platform_seller_id: str, email: str,
                    name: str, now: datetime) -> tuple[Seller, bool]:
    """The platform's seller, (seller, created). A new e-mail gets an account, invited by e-mail
    to set a password, and an active seller. An e-mail that has an account gets a pending seller:
    the person is asked (by e-mail once per platform, and in "My account → Marketplaces") and
    nothing names them until they accept. The same ``platform_seller_id`` again returns the row
    as it is (a declined seller stays declined, nobody is asked twice); a platform the person
    declined cannot ask again under another id (409 ``seller_declined``).

    Race-free: the seller is ``INSERT … ON CONFLICT DO NOTHING`` then read, the account
    ``users.find_or_register_automatically`` (a concurrent twin's account is found, not a 500)."""
    existing = find_seller(connection, platform_id, platform_seller_id)
    if existing is not None:
        return existing, False
    user, created_account = users.find_or_register_automatically(connection, email, name, now=now)
    earlier = _links_of(connection, platform_id, user.id)
    if not created_account and SellerStatus.DECLINED.value in earlier:
        raise Conflict("The owner of this e-mail address declined to be your seller. They can accept your "
                       "earlier request from their Amanah account.", code="seller_declined", param="email")
    status = SellerStatus.ACTIVE if created_account else SellerStatus.PENDING
    seller_id = new_id("sel")
    inserted = connection.execute(insert_on_conflict(connection, sellers).values(
        id=seller_id, platform_id=platform_id, platform_seller_id=platform_seller_id, user_id=user.id,
        name=" ".join(name.split()) or user.name, status=status.value, created_at=now,
    ).on_conflict_do_nothing(index_elements=["platform_id", "platform_seller_id"]).returning(sellers.c.id)).first()
    if inserted is None:  # registered at the same moment by a concurrent request: that one
        return find_seller(connection, platform_id, platform_seller_id), False
    if status is SellerStatus.PENDING and not earlier:
        _ask_consent(connection, platform_id, user, now=now)
    return get_seller(connection, platform_id, seller_id), True


def _links_of(connection: Connection, platform_id: str, user_id: str) -> set[str]:
    """The statuses of the platform's sellers already linked to the user."""
    return set(connection.execute(sa.select(sellers.c.status).where(
        sellers.c.platform_id == platform_id, sellers.c.user_id == user_id)).scalars())


def _ask_consent(connection: Connection, platform_id: str, user: users.User, *, now: datetime) -> None:
    from amanah.mail import service as mail
    from amanah.users.models import users as users_table

    locale = connection.execute(sa.select(users_table.c.locale).where(users_table.c.id == user.id)).scalar()
    mail.enqueue(connection, to=user.email, template="seller_request", locale=locale,
                 params={"name": user.name or "", "platform": get_platform(connection, platform_id).name}, now=now)


def require_active_seller(seller: Seller) -> None:
    """A trade may name only a seller whose person said yes (or whose account it opened)."""
    if seller.status is not SellerStatus.ACTIVE:
        raise Conflict(f"The seller {seller.id} is {seller.status.value}: its owner has not agreed to sell through "
                       "your marketplace. A trade can name it once they accept.", code="seller_not_active",
                       param="seller_id")


@dataclass(frozen=True)
class SellerLink:
    """A platform's seller request or link, as the person sees it."""
    seller_id: str
    platform: str
    name: str
    status: SellerStatus
    created_at: datetime

    def to_dict(self) -> dict:
        return {"seller_id": self.seller_id, "platform": self.platform, "name": self.name,
                "status": self.status.value}


def seller_links(connection: Connection, user_id: str) -> list[SellerLink]:
    """Every platform's seller request and link to the person, newest first."""
    rows = connection.execute(
        sa.select(sellers.c.id, sellers.c.name, sellers.c.status, sellers.c.created_at,
                  platforms.c.name.label("platform"))
        .join(platforms, platforms.c.id == sellers.c.platform_id)
        .where(sellers.c.user_id == user_id)
        .order_by(sellers.c.created_at.desc(), sellers.c.id.desc()).limit(limits.SELLER_LINKS_PER_USER_MAX))
    return [SellerLink(row.id, row.platform, row.name, SellerStatus(row.status), row.created_at) for row in rows]


def decide_seller_link(connection: Connection, user_id: str, seller_id: str, *, accept: bool,
                       now: datetime) -> SellerLink:
    """The person accepts or declines a platform's seller link: one conditional UPDATE (of their
    own link, from a state that allows it), so two answers at once cannot both apply. Another
    person's link is not found. Accepting sends the platform ``seller.activated``."""
    target = SellerStatus.ACTIVE if accept else SellerStatus.DECLINED
    allowed = [status.value for status, targets in CONSENT_TRANSITIONS.items() if target in targets]
    row = connection.execute(sa.select(sellers.c.status).where(
        sellers.c.id == seller_id, sellers.c.user_id == user_id)).first()
    if row is None:
        raise NotFound(f"No marketplace request {seller_id[:40]}.", param="seller_id")
    if row.status != target.value:
        if users.is_closed(connection, user_id):
            raise NotFound(f"No marketplace request {seller_id[:40]}.", param="seller_id")
        changed = connection.execute(sellers.update().where(
            sellers.c.id == seller_id, sellers.c.user_id == user_id, sellers.c.status.in_(allowed),
        ).values(status=target.value, decided_at=now).returning(sellers.c.platform_id)).first()
        if changed is None:
            raise Conflict("This request was answered a moment ago; reload to see it.",
                           code="seller_link_changed", param="seller_id")
        if accept:
            _emit_activated(connection, changed.platform_id, seller_id, now)
    return next(link for link in seller_links(connection, user_id) if link.seller_id == seller_id)


def _emit_activated(connection: Connection, platform_id: str, seller_id: str, now: datetime) -> None:
    from amanah.platforms.webhooks.service import emit

    seller = get_seller(connection, platform_id, seller_id)
    emit(connection, platform_id=platform_id, event_type="seller.activated", subject_id=seller_id,
         data={key: value for key, value in seller.to_dict().items() if key != "email"}, now=now)


def fee_limit_bps(connection: Connection, platform_id: str) -> int:
    row = connection.execute(sa.select(platforms.c.fee_bps_max).where(platforms.c.id == platform_id)).first()
    if row is None:
        raise NotFound(f"No platform {platform_id[:40]}.", param="id")
    return row.fee_bps_max


def set_fee_limit(connection: Connection, platform_id: str, *, bps_max: int) -> tuple[int, int]:
    """The operator's limit on the platform's fee; (before, after). Trades opened before keep
    their fee; every new one is checked against the new limit."""
    if type(bps_max) is not int or not 0 <= bps_max <= limits.PLATFORM_FEE_BPS_MAX_CEILING:
        raise InvalidRequest(f"bps_max must be 0 to {limits.PLATFORM_FEE_BPS_MAX_CEILING} (100%).",
                             code="fee_limit_out_of_range", param="bps_max")
    before = fee_limit_bps(connection, platform_id)
    connection.execute(platforms.update().where(platforms.c.id == platform_id).values(fee_bps_max=bps_max))
    return before, bps_max


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
    registered automatically (the seed's "paying once registers you"). Race-free: the link is
    ``INSERT … ON CONFLICT DO NOTHING`` then read, so twenty checkouts at once for one new buyer
    make one account and one link (the losers read the winner's)."""
    row = connection.execute(_BUYER_LINK, {"platform_id": platform_id, "platform_user_id": platform_user_id}).first()
    if row is not None:
        return users.get_user(connection, row.user_id)
    user, created = users.find_or_register_automatically(connection, email, name, now=now)
    connection.execute(insert_on_conflict(connection, platform_users).values(
        platform_id=platform_id, platform_user_id=platform_user_id, user_id=user.id,
        registered_here=created, created_at=now,
    ).on_conflict_do_nothing(index_elements=["platform_id", "platform_user_id"]))
    row = connection.execute(_BUYER_LINK, {"platform_id": platform_id, "platform_user_id": platform_user_id}).one()
    return users.get_user(connection, row.user_id)


_BUYER_LINK = sa.select(platform_users.c.user_id).where(
    platform_users.c.platform_id == sa.bindparam("platform_id"),
    platform_users.c.platform_user_id == sa.bindparam("platform_user_id"))


def buyer_for_login_link(connection: Connection, platform_id: str, *, platform_user_id: str,
                         email: str) -> users.User:
    """The platform's buyer that a single sign-on link may log in: one this platform
    registered, or one who has paid one of its trades. Naming someone else's e-mail opens
    nothing: a platform cannot log into an account it has no standing with. Once the person
    has set a password (claimed the account), the platform's right ends unless the person
    allowed it under "My account → Marketplaces" (``allow_sso``)."""
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
    if user.has_password and not sso_allowed(connection, user.id, platform_id):
        raise PermissionDenied("This person has set a password for their account: they log in themselves, unless "
                               "they let your marketplace sign them in (My account → Marketplaces). Send them to the "
                               "cabinet's log-in page instead.", code="sso_not_allowed", param="platform_user_id")
    return user


def sso_allowed(connection: Connection, user_id: str, platform_id: str) -> bool:
    """Whether the person lets the platform sign them in by link although they have a password."""
    return connection.execute(sa.select(sso_consents.c.user_id).where(
        sso_consents.c.user_id == user_id, sso_consents.c.platform_id == platform_id)).first() is not None


def set_sso_allowed(connection: Connection, user_id: str, platform_id: str, *, allowed: bool,
                    now: datetime) -> bool:
    """The person's switch "let <platform> sign me in", for a platform they are linked to (any
    other is not found); idempotent (``INSERT … ON CONFLICT DO NOTHING`` / DELETE). Withdrawing
    also ends the sessions and unused links that platform opened for them."""
    if not any(link.platform_id == platform_id for link in linked_platforms(connection, user_id)):
        raise NotFound(f"No marketplace {platform_id[:40]} linked to you.", param="platform_id")
    if allowed:
        connection.execute(insert_on_conflict(connection, sso_consents).values(
            user_id=user_id, platform_id=platform_id, allowed_at=now,
        ).on_conflict_do_nothing(index_elements=["user_id", "platform_id"]))
    else:
        connection.execute(sso_consents.delete().where(
            sso_consents.c.user_id == user_id, sso_consents.c.platform_id == platform_id))
        users.end_platform_sessions(connection, user_id, platform_id, now=now)
    return allowed


@dataclass(frozen=True)
class LinkedPlatform:
    """A marketplace the person is known to: as its buyer, its seller (or asked to be), or both."""

    platform_id: str
    name: str
    buyer: bool
    seller_status: SellerStatus | None
    """The person's seller link with it (the most alive one, if several), or None."""
    sso_allowed: bool


def linked_platforms(connection: Connection, user_id: str) -> list[LinkedPlatform]:
    """Every platform linked to the person, by name (bounded: a person's links are few, and
    each list is capped)."""
    bought = set(connection.execute(sa.select(platform_users.c.platform_id).where(
        platform_users.c.user_id == user_id).distinct().limit(limits.SELLER_LINKS_PER_USER_MAX)).scalars())
    rank = [SellerStatus.DECLINED, SellerStatus.PENDING, SellerStatus.ACTIVE]
    sold: dict[str, SellerStatus] = {}
    for row in connection.execute(sa.select(sellers.c.platform_id, sellers.c.status).where(
            sellers.c.user_id == user_id).limit(limits.SELLER_LINKS_PER_USER_MAX)):
        status = SellerStatus(row.status)
        if row.platform_id not in sold or rank.index(status) > rank.index(sold[row.platform_id]):
            sold[row.platform_id] = status
    allowed = set(connection.execute(sa.select(sso_consents.c.platform_id).where(
        sso_consents.c.user_id == user_id)).scalars())
    known = bought | set(sold)
    if not known:
        return []
    names = dict(connection.execute(sa.select(platforms.c.id, platforms.c.name).where(
        platforms.c.id.in_(sorted(known)))).all())
    return sorted((LinkedPlatform(platform_id, names.get(platform_id, platform_id), platform_id in bought,
                                  sold.get(platform_id), platform_id in allowed) for platform_id in known),
                  key=lambda link: (link.name.lower(), link.platform_id))


def platform_user_id_of(connection: Connection, platform_id: str, user_id: str) -> str | None:
    row = connection.execute(sa.select(platform_users.c.platform_user_id).where(
        platform_users.c.platform_id == platform_id, platform_users.c.user_id == user_id)).first()
    return row.platform_user_id if row else None


def forget_user(connection: Connection, user_id: str) -> None:
    """Account closure: the platforms' buyer links to the user are dropped (the same buyer
    paying again gets a new account, not the closed one) and seller names blanked; seller rows
    stay, as trades name them."""
    connection.execute(platform_users.delete().where(platform_users.c.user_id == user_id))
    connection.execute(sso_consents.delete().where(sso_consents.c.user_id == user_id))
    connection.execute(sellers.update().where(sellers.c.user_id == user_id).values(name=""))
