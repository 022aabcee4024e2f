"""Trade timers: release to the seller when protection ends; close unpaid trades; give up on
card payments a crash left before their charge started."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine

from amanah.core import jobs
from amanah.core.config import Settings
from amanah.core.db import run_in_transaction
from amanah.trades import service


@jobs.register("trades.auto_release", interval_s=5.0)
def auto_release(engine: Engine, _settings: Settings, now: datetime) -> int:
    return run_in_transaction(engine, lambda connection: service.release_due(connection, now=now))


@jobs.register("trades.expire_unpaid", interval_s=30.0)
def expire_unpaid(engine: Engine, _settings: Settings, now: datetime) -> int:
    return run_in_transaction(engine, lambda connection: service.expire_due(connection, now=now))


@jobs.register("trades.finish_refunds", interval_s=30.0)
def finish_refunds(engine: Engine, settings: Settings, now: datetime) -> int:
    """Refunds a crash left between our ledger and the card acquirer's answer."""
    from amanah.core import limits
    from amanah.trades.service.refunds import finish_stuck_refunds

    return finish_stuck_refunds(engine, settings, now=now, older_than_s=2 * settings.connector_timeout_s,
                                limit=limits.TRADES_PER_JOB_RUN_MAX)


@jobs.register("trades.fail_unstarted_payments", interval_s=60.0)
def fail_unstarted_payments(engine: Engine, _settings: Settings, now: datetime) -> int:
    """Card or e-wallet payments marked as under way whose charge never started (a crash):
    marked failed, so the buyer can pay again."""
    from amanah.core import limits
    from amanah.trades.service.pay import fail_unstarted_payments as fail

    return fail(engine, now=now, older_than_s=limits.TRADE_PAYMENT_UNSTARTED_FAIL_AFTER_S,
                limit=limits.UNSTARTED_FAILED_PER_RUN_MAX)
