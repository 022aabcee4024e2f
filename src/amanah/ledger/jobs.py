"""The ledger's background job: expire holds whose timeout has passed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine

from amanah.core import jobs
from amanah.core.config import Settings
from amanah.core.db import run_in_transaction
from amanah.ledger.service import expire_due


@jobs.register("ledger.expire_holds", interval_s=1.0)
def expire_holds(engine: Engine, _settings: Settings, now: datetime) -> int:
    return run_in_transaction(engine, lambda connection: expire_due(connection, now=now))
