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

    def to_dict(self) -> dict:
        return {"mode": self.mode.value, "changed_by": self.changed_by, "changed_at": self.changed_at,
                "reason": self.reason}


def current(connection: Connection) -> ModeState:
    row = connection.execute(
        sa.select(service_mode_changes).order_by(service_mode_changes.c.id.desc()).limit(1)).first()
    if row is None:
        return ModeState(Mode.NORMAL, None, None, None)
    return ModeState(Mode(row.mode), row.changed_by, row.changed_at, row.reason)


def set_mode(connection: Connection, mode: str, *, changed_by: str, now: datetime,
             reason: str | None = None) -> ModeState:
    try:
        mode = Mode(mode)
    except ValueError:
        raise InvalidRequest('mode must be "normal" or "wind_down".', param="mode") from None
    connection.execute(service_mode_changes.insert().values(
        mode=mode.value, changed_by=changed_by[:100], reason=(reason or None) and reason[:500], changed_at=now))
    return current(connection)


def refuse_new_business(connection: Connection, what: str) -> None:
    """Raises ``ServiceMode`` (403) while winding down. ``what`` completes "… is closed", e.g.
    "Registration"."""
    if current(connection).mode is Mode.WIND_DOWN:
        raise ServiceMode(
            f"{what} is closed: this payment service is winding down. You can still log in, pay for "
            "open orders with your balance, withdraw your balance to a card and delete your cards.")
