"""The wind-down notice: e-mailed once per wind-down to every user who holds money.

"Holds money" is read off the ledger (a user wallet with a posted balance or money held either
way), so a seller paid after the switch is told too, on the job's next run. The claim is an
insert into ``wind_down_notices`` that skips on the unique (wind-down, user) key; the mail is
queued in the same transaction, so it is sent exactly when the claim commits: once, whatever
number of workers race, and again after a restart only for whoever was never claimed."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from amanah import mail
from amanah.closure.models import wind_down_notices
from amanah.core import limits, service_mode
from amanah.core.db import insert_on_conflict
from amanah.ledger import AccountKind
from amanah.ledger.models import accounts
from amanah.users.models import users

TEMPLATE = "wind_down_notice"


def holds_money():
    """A user wallet that is not empty: a posted balance, or money held out or in."""
    return sa.or_(accounts.c.credits_posted != accounts.c.debits_posted,
                  accounts.c.debits_pending > 0, accounts.c.credits_pending > 0)


def _unnotified(connection: Connection, wind_down_id: int, limit: int) -> list:
    holders = sa.select(accounts.c.owner_ref).where(
        accounts.c.kind == AccountKind.USER_WALLET.value, holds_money())
    notified = sa.select(wind_down_notices.c.user_id).where(wind_down_notices.c.wind_down_id == wind_down_id)
    return connection.execute(
        sa.select(users.c.id, users.c.email, users.c.name, users.c.locale)
        .where(users.c.id.in_(holders), users.c.id.not_in(notified), users.c.closed_at.is_(None))
        .order_by(users.c.id).limit(limit)).all()


def _claim(connection: Connection, wind_down_id: int, user_id: str, now: datetime) -> bool:
    insert = insert_on_conflict(connection, wind_down_notices)
    claimed = connection.execute(insert.values(wind_down_id=wind_down_id, user_id=user_id, notified_at=now)
                                 .on_conflict_do_nothing(index_elements=["wind_down_id", "user_id"])
                                 .returning(wind_down_notices.c.id)).first()
    return claimed is not None  # None: another worker claimed this user first


def send_due(connection: Connection, *, now: datetime,
             limit: int = limits.WIND_DOWN_NOTICES_PER_RUN_MAX) -> int:
    """Queues the notice for up to ``limit`` users not yet told; how many it queued."""
    started = service_mode.wind_down_started(connection)
    if started is None:
        return 0
    queued = 0
    for user in _unnotified(connection, started.change_id, limit):
        if _claim(connection, started.change_id, user.id, now):
            mail.enqueue(connection, to=user.email, template=TEMPLATE, locale=user.locale,
                         params={"name": user.name}, now=now)
            queued += 1
    return queued


def notified_user_ids(connection: Connection) -> set[str]:
    """Who has been sent the notice of the wind-down under way (operators' view, tests)."""
    started = service_mode.wind_down_started(connection)
    if started is None:
        return set()
    rows = connection.execute(sa.select(wind_down_notices.c.user_id)
                              .where(wind_down_notices.c.wind_down_id == started.change_id))
    return {row.user_id for row in rows}
