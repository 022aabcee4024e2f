"""The wind-down notice job (a no-op in normal mode: one indexed read of the mode)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine

from amanah.closure import notices
from amanah.core import jobs
from amanah.core.config import Settings
from amanah.core.db import run_in_transaction


@jobs.register("closure.wind_down_notices", interval_s=30.0)
def send_wind_down_notices(engine: Engine, _settings: Settings, now: datetime) -> int:
    return run_in_transaction(engine, lambda connection: notices.send_due(connection, now=now))
