"""The wallet's periodic work: settling withdrawals a crash interrupted, and failing top-ups a
crash left recorded but never charged. This module is also imported by every job runner
(``core.jobs``), so a worker that settles stuck charges (``cards.recover_charges``) knows the
top-ups' settlement handler, which registers itself when ``service.topups`` is imported."""

from datetime import datetime

from sqlalchemy.engine import Engine

from amanah.core import jobs, limits
from amanah.core.config import Settings

from amanah.wallet.service import topups as _topups  # noqa: F401  (registers @charges.on_settled("topup"))
from amanah.wallet.service import withdrawals as _withdrawals  # noqa: E402


@jobs.register("wallet.recover_withdrawals", interval_s=30.0)
def recover_withdrawals(engine: Engine, settings: Settings, now: datetime) -> int:
    # Twice the connector timeout: a younger withdrawal may still be waiting for its payout.
    return _withdrawals.recover_stuck(engine, settings, now=now, older_than_s=2 * settings.connector_timeout_s,
                                      limit=limits.CHARGES_RECOVERED_PER_RUN_MAX)


@jobs.register("wallet.fail_unstarted_topups", interval_s=60.0)
def fail_unstarted_topups(engine: Engine, settings: Settings, now: datetime) -> int:
    # Older than the idempotency lease: until then a retry with the same key starts the charge.
    return _topups.fail_unstarted(engine, now=now, older_than_s=limits.TOPUP_UNSTARTED_FAIL_AFTER_S,
                                  limit=limits.UNSTARTED_FAILED_PER_RUN_MAX)
