"""The delivery job: claim a batch, send it in parallel outside any transaction, record outcomes."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from sqlalchemy.engine import Engine

from amanah.core import jobs
from amanah.core.config import Settings
from amanah.core.db import run_in_transaction
from amanah.platforms.webhooks import delivery, outbox

log = logging.getLogger("amanah.webhooks")


@jobs.register("webhooks.deliver", interval_s=1.0)
def deliver_due(engine: Engine, settings: Settings, now: datetime) -> int:
    """Delivers one batch; returns how many deliveries were attempted."""
    claimed = run_in_transaction(engine, lambda connection: outbox.claim_due(connection, now=now))
    if not claimed:
        return 0
    # One thread per delivery: a batch takes as long as its slowest endpoint (the timeout),
    # not the sum, so a dead endpoint cannot hold up the other jobs for long.
    with delivery.new_client() as client, ThreadPoolExecutor(max_workers=len(claimed)) as pool:
        outcomes = list(pool.map(lambda item: _send(client, item, settings), claimed))
    for item, outcome in zip(claimed, outcomes):
        if not outcome.succeeded:
            log.warning("webhook delivery %s to %s, attempt %s: %s", item.delivery_id, item.endpoint_id,
                        item.attempt, outcome.error)
        run_in_transaction(engine, lambda connection: outbox.record(connection, item, outcome, now=now))
    return len(claimed)


def _send(client, item: outbox.Claimed, settings: Settings) -> outbox.Outcome:
    try:
        return delivery.send(client, item, allow_private=settings.webhook_allow_private)
    except Exception:  # a bug must cost one attempt, not the batch's claims (held until the lease ends)
        log.exception("webhook delivery %s failed unexpectedly", item.delivery_id)
        return outbox.Outcome(None, "Internal error while sending; it will be retried.")
