"""The FX background job: forget quotes that expired unused a day ago (``POST /v1/fx/quotes``
is public and cheap to call, so their table must not grow without bound)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine

from amanah.core import jobs
from amanah.core.config import Settings
from amanah.core.db import run_in_transaction
from amanah.fx.service import purge_expired_quotes


@jobs.register("fx.purge_expired_quotes", interval_s=300.0)
def purge_quotes(engine: Engine, _settings: Settings, now: datetime) -> int:
    return run_in_transaction(engine, lambda connection: purge_expired_quotes(connection, now=now))
