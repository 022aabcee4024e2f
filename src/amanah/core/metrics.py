"""Prometheus metrics that domain code counts (the HTTP ones live in ``api.observability``).

Counted only after the commit (``core.db.after_commit``): a batch rolled back, or run again
after a conflict, is not counted, or not twice. With several processes (``amanah serve
--workers N``), ``PROMETHEUS_MULTIPROC_DIR`` makes prometheus_client keep every value in a
per-process file that ``/metrics`` sums (see ``api.observability``); the variable must be set
before this module is first imported, which ``amanah serve`` does."""

from __future__ import annotations

import enum
import os
from collections import Counter as Tally
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram
from sqlalchemy.engine import Connection

from amanah.core.db import after_commit

if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # the values' files go there from the first metric on
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

REGISTRY = CollectorRegistry()
"""This process's metrics (one process; with several, ``/metrics`` reads the shared files)."""

TRANSFERS_COMMITTED = Counter("amanah_ledger_transfers_committed_total",
                              "Ledger transfers committed, by kind (direct, pending, post_pending, ...)",
                              ["kind"], registry=REGISTRY)
BATCH_TRANSFERS = Histogram("amanah_ledger_batch_transfers", "Transfers written per committed ledger batch",
                            registry=REGISTRY, buckets=(1, 2, 3, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000))


class WebhookOutcome(enum.StrEnum):
    DELIVERED = "delivered"
    """The endpoint answered 2xx."""
    FAILED_RETRYING = "failed_retrying"
    """Not delivered; another attempt is scheduled."""
    GAVE_UP = "gave_up"
    """Not delivered, and the attempts are used up."""
    DISABLED = "disabled"
    """The endpoint answered 410 Gone and was disabled."""


WEBHOOK_DELIVERIES = Counter("amanah_webhook_deliveries_total", "Webhook delivery attempts by outcome",
                             ["outcome"], registry=REGISTRY)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def count_transfers(connection: Connection, kinds: Iterable[str]) -> None:
    """One ledger batch written with transfers of these kinds; counted when it commits."""
    tally = Tally(kinds)
    if not tally:
        return

    def record() -> None:
        for kind, count in tally.items():
            TRANSFERS_COMMITTED.labels(kind).inc(count)
        BATCH_TRANSFERS.observe(sum(tally.values()))

    after_commit(connection, record)


def count_webhook_outcome(connection: Connection, outcome: WebhookOutcome) -> None:
    after_commit(connection, lambda: WEBHOOK_DELIVERIES.labels(outcome.value).inc())
