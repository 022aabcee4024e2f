"""The service mode: ``normal``, or ``wind_down`` — closed to new business while every user can
still log in, spend or withdraw what they hold, and delete their cards (the seed's 2017 closure).

Every change is a new row (who, when, why), so the history is kept; the current mode is the
latest row. Code that starts new business calls ``refuse_new_business`` inside its transaction."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from amanah.core.db import BigIntegerPK, UTCDateTime, metadata
from amanah.core.errors import InvalidRequest, ServiceMode


class Mode(enum.StrEnum):
    NORMAL = "normal"
    """Everything is open."""
    WIND_DOWN = "wind_down"
    """No registration, card binding, top-ups or new trades; everything else keeps working."""


service_mode_changes = sa.Table(
    "service_mode_changes",
    metadata,
    sa.Column("id", BigIntegerPK, primary_key=True, autoincrement=True),
    sa.Column("mode", sa.String(16), nullable=False),
    sa.Column("changed_by", sa.String(100), nullable=False),
    sa.Column("reason", sa.String(500), nullable=True),
    sa.Column("changed_at", UTCDateTime, nullable=False),
)


@dataclass(frozen=True)
class ModeState:
    mode: Mode
    changed_by: str | None
    changed_at: datetime | None
    reason: str | None
    change_id: int | None = None

    def to_dict(self) -> dict:
        return {"mode": self.mode.value, "changed_by": self.changed_by, "changed_at": self.changed_at,
                "reason": self.reason}


def current(connection: Connection) -> ModeState:
    row = connection.execute(
        sa.select(service_mode_changes).order_by(service_mode_changes.c.id.desc()).limit(1)).first()
    if row is None:
        return ModeState(Mode.NORMAL, None, None, None)
    return ModeState(Mode(row.mode), row.changed_by, row.changed_at, row.reason, row.id)


def set_mode(connection: Connection, mode: str, *, changed_by: str, now: datetime,
             reason: str | None = None) -> ModeState:
    try:
        mode = Mode(mode)
    except ValueError:
        raise InvalidRequest('mode must be "normal" or "wind_down".', param="mode") from None
    connection.execute(service_mode_changes.insert().values(
        mode=mode.value, changed_by=changed_by[:100], reason=(reason or None) and reason[:500], changed_at=now))
    return current(connection)


_STILL_WORKS = {
    "user": ("You can still log in, pay for orders already placed with your balance, withdraw your "
             "balance to a card, delete your cards and download your data. Please withdraw your balance."),
    "platform": ("Trades already open keep working: the buyer can pay them from their balance, and they "
                 "can be shipped, confirmed, refunded and disputed as usual."),
}


def refuse_new_business(connection: Connection, what: str, *, audience: str = "user") -> None:
    """Raises ``ServiceMode`` (403) while winding down. ``what`` completes "… is closed", e.g.
    "Registration"; ``audience`` ("user" or "platform") picks what the message says still works."""
    if current(connection).mode is Mode.WIND_DOWN:
        raise ServiceMode(f"{what} is closed: this payment service is winding down. {_STILL_WORKS[audience]}")


def wind_down_started(connection: Connection) -> ModeState | None:
    """The change that began the wind-down under way (None in normal mode). Setting
    ``wind_down`` again while winding down continues the same wind-down: notices are per start."""
    last_normal = sa.select(sa.func.max(service_mode_changes.c.id)).where(
        service_mode_changes.c.mode == Mode.NORMAL.value).scalar_subquery()
    row = connection.execute(
        sa.select(service_mode_changes).where(
            service_mode_changes.c.mode == Mode.WIND_DOWN.value,
            service_mode_changes.c.id > sa.func.coalesce(last_normal, 0))
        .order_by(service_mode_changes.c.id).limit(1)).first()
    if row is None or current(connection).mode is not Mode.WIND_DOWN:
        return None
    return ModeState(Mode(row.mode), row.changed_by, row.changed_at, row.reason, row.id)


def banner(connection: Connection, locale: str | None = None) -> dict | None:
    """What the cabinet shows every signed-in user while winding down (None in normal mode):
    ``{"mode", "since", "texts": {locale: {title, body, still_works, to_do}}}``, and with
    ``locale`` the words in that language at the top level as well."""
    started = wind_down_started(connection)
    if started is None:
        return None
    from amanah.core.service_mode_texts import BANNER_TEXTS, pick

    shown = {"mode": Mode.WIND_DOWN.value, "since": started.changed_at, "texts": BANNER_TEXTS}
    if locale is not None:
        shown.update(pick(locale))
    return shown
