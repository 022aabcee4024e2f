"""Settles charges a crash left half-way, from what the connector says happened."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from amanah.cards import charges
from amanah.core import jobs, limits
from amanah.core.config import Settings


@jobs.register("cards.recover_charges", interval_s=30.0)
def recover_charges(engine: Engine, settings: Settings, now: datetime) -> int:
    # Twice the connector timeout: a charge younger than that may still be in flight.
    return charges.recover_stuck(engine, settings, now=now, older_than=timedelta(seconds=2 * settings.connector_timeout_s),
                                 limit=limits.CHARGES_RECOVERED_PER_RUN_MAX)
