"""The background jobs' queues, read from the tables the jobs take their work from: how much
waits (depth), how much of it is due now, and how late the oldest due item is (lag). Read at
scrape time by ``/metrics``, so every process reports the same, shared numbers.

Each queue is the job's own ``WHERE`` (see each domain's ``jobs.py``): one indexed count and
one ``min`` per queue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from amanah.cards.models import charges
from amanah.ledger.models import transfers
from amanah.mail.models import outbox
from amanah.platforms.webhooks.models import deliveries
from amanah.trades.models import refunds, trades
from amanah.wallet.models import withdrawals


@dataclass(frozen=True)
class QueueState:
    name: str
    depth: int
    """Items waiting, due or not (a shipped trade waits for its release date)."""
    due: int
    """Items whose time has come: a job should be working on them now."""
    lag_s: float
    """How long the oldest due item has been due (0 when nothing is due)."""


def _queues():
    resolver = transfers.alias("resolver")
    unresolved_hold = sa.and_(transfers.c.kind == "pending", transfers.c.expires_at.is_not(None),
                              ~sa.exists().where(resolver.c.pending_id == transfers.c.id))
    # name → (the waiting rows' condition, the column saying when each is due)
    return {
        "mail.deliver": (outbox.c.status == "queued", outbox.c.next_attempt_at),
        "webhooks.deliver": (deliveries.c.status == "pending", deliveries.c.next_attempt_at),
        "trades.auto_release": (sa.and_(trades.c.status == "shipped", trades.c.release_at.is_not(None)),
                                trades.c.release_at),
        "trades.expire_unpaid": (trades.c.status == "awaiting_payment", trades.c.expires_at),
        "ledger.expire_holds": (unresolved_hold, transfers.c.expires_at),
        # Work left half-way by a crash or waiting for a connector: due at once.
        "wallet.withdrawals_processing": (withdrawals.c.status == "processing", withdrawals.c.created_at),
        "cards.charges_processing": (charges.c.status == "processing", charges.c.created_at),
        "trades.refunds_processing": (refunds.c.status == "processing", refunds.c.created_at),
    }


def queue_states(connection: Connection, *, now: datetime) -> list[QueueState]:
    states = []
    for name, (waiting, due_at) in _queues().items():
        table = due_at.table
        row = connection.execute(sa.select(
            sa.func.count().label("depth"),
            sa.func.count().filter(due_at <= now).label("due"),
            sa.func.min(due_at).filter(due_at <= now).label("oldest_due"),
        ).select_from(table).where(waiting)).one()
        lag_s = max((now - row.oldest_due).total_seconds(), 0.0) if row.oldest_due is not None else 0.0
        states.append(QueueState(name, int(row.depth), int(row.due or 0), lag_s))
    return states
