"""The API's background jobs: purging idempotency keys kept long enough."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine

from amanah.api import idempotency
from amanah.core import jobs
from amanah.core.config import Settings
from amanah.core.db import run_in_transaction


@jobs.register("api.purge_idempotency_keys", interval_s=600.0)
def purge_idempotency_keys(engine: Engine, _settings: Settings, now: datetime) -> int:
    return run_in_transaction(engine, lambda connection: idempotency.purge_expired(connection, now=now))
