"""Users' background job: delete expired captchas, old tokens and forgotten throttle counters."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from amanah.core import jobs, limits
from amanah.core.config import Settings
from amanah.core.db import run_in_transaction
from amanah.users.models import captchas, login_throttles, user_tokens


@jobs.register("users.purge_expired", interval_s=300.0)
def purge_expired(engine: Engine, _settings: Settings, now: datetime) -> int:
    return run_in_transaction(engine, lambda conn: _purge(conn, now))


def _purge(conn: Connection, now: datetime) -> int:
    old = now - timedelta(seconds=limits.USERS_PURGE_AFTER_S)
    forgotten = now - timedelta(seconds=limits.LOGIN_FAILURES_FORGOTTEN_AFTER_S)
    deleted = 0
    for table, condition in (
        (captchas, captchas.c.expires_at < now),
        (user_tokens, user_tokens.c.expires_at < old),
        (login_throttles, login_throttles.c.last_failure_at < forgotten),
    ):
        key = table.primary_key.columns.values()[0]
        batch = sa.select(key).where(condition).limit(limits.USERS_PURGE_BATCH_MAX).scalar_subquery()
        deleted += conn.execute(table.delete().where(key.in_(batch))).rowcount
    return deleted
