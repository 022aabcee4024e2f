"""The delivery queue: claim due deliveries (several workers at once), record each outcome."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from amanah.core import limits
from amanah.core.metrics import WebhookOutcome, count_webhook_outcome
from amanah.platforms.webhooks.models import deliveries, endpoints, events
from amanah.platforms.webhooks.service import give_up_pending


@dataclass(frozen=True)
class Claimed:
    """One delivery claimed by this worker for ``attempt`` (its number, from 1)."""

    delivery_id: str
    attempt: int
    endpoint_id: str
    url: str
    secret: str
    event_id: str
    payload: str


@dataclass(frozen=True)
class Outcome:
    """What the endpoint answered (``status_code``), or why nothing came back (``error``)."""

    status_code: int | None
    error: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _due(now: datetime, limit: int):
    earlier = deliveries.alias("earlier")
    # Strict order per endpoint and subject: wait while an earlier one is still pending.
    blocked = sa.exists().where(
        earlier.c.endpoint_id == deliveries.c.endpoint_id, earlier.c.subject_id == deliveries.c.subject_id,
        earlier.c.seq < deliveries.c.seq, earlier.c.status == "pending")
    return (sa.select(deliveries.c.seq)
            .where(deliveries.c.status == "pending", deliveries.c.next_attempt_at <= now,
                   sa.or_(deliveries.c.claimed_until.is_(None), deliveries.c.claimed_until <= now), ~blocked)
            .order_by(deliveries.c.seq).limit(limit)
            # SKIP LOCKED: workers claiming at once neither wait for nor take each other's rows
            # (SQLite has a single writer and ignores it).
            .with_for_update(skip_locked=True, of=deliveries))


def claim_due(connection: Connection, *, now: datetime,
              limit: int = limits.WEBHOOK_DELIVERY_BATCH_MAX) -> list[Claimed]:
    """Claims up to ``limit`` due deliveries for ``WEBHOOK_CLAIM_LEASE_S``; a worker that dies
    holding them loses them when the lease runs out."""
    seqs = list(connection.execute(_due(now, limit)).scalars())
    if not seqs:
        return []
    connection.execute(deliveries.update().where(deliveries.c.seq.in_(seqs)).values(
        claimed_until=now + timedelta(seconds=limits.WEBHOOK_CLAIM_LEASE_S),
        attempts=deliveries.c.attempts + 1, last_attempt_at=now))
    rows = connection.execute(
        sa.select(deliveries.c.id, deliveries.c.attempts, deliveries.c.endpoint_id, endpoints.c.url,
                  endpoints.c.secret, events.c.id.label("event_id"), events.c.payload)
        .join(endpoints, endpoints.c.id == deliveries.c.endpoint_id)
        .join(events, events.c.id == deliveries.c.event_id)
        .where(deliveries.c.seq.in_(seqs)).order_by(deliveries.c.seq)).all()
    return [Claimed(row.id, row.attempts, row.endpoint_id, row.url, row.secret, row.event_id, row.payload)
            for row in rows]


def retry_delay_s(attempts: int, jitter_unit: float | None = None) -> float:
    """Seconds before the next try after ``attempts`` failed ones: 30 s doubling up to 8 hours,
    times a random factor in [0.75, 1.25) so that endpoints coming back are not stampeded."""
    assert attempts >= 1
    unit = random.random() if jitter_unit is None else jitter_unit
    assert 0 <= unit < 1
    base_s = min(limits.WEBHOOK_RETRY_BACKOFF_FIRST_S * 2 ** (attempts - 1), limits.WEBHOOK_RETRY_BACKOFF_MAX_S)
    return base_s * (1 - limits.WEBHOOK_RETRY_JITTER + 2 * limits.WEBHOOK_RETRY_JITTER * unit)


def record(connection: Connection, claimed: Claimed, outcome: Outcome, *, now: datetime) -> None:
    """Records one attempt. Ignored if the claim was lost (the lease ran out and another
    worker took the delivery: its outcome is the one that counts)."""
    still_ours = sa.and_(deliveries.c.id == claimed.delivery_id, deliveries.c.status == "pending",
                         deliveries.c.attempts == claimed.attempt)
    seen = {"last_response_status": outcome.status_code, "claimed_until": None,
            "last_error": None if outcome.succeeded else (outcome.error or f"HTTP {outcome.status_code}")[:500]}
    if outcome.succeeded:
        values, counted = {"status": "succeeded", "finished_at": now}, WebhookOutcome.DELIVERED
    elif outcome.status_code == 410:
        values, counted = {"status": "failed", "finished_at": now}, WebhookOutcome.DISABLED
    elif claimed.attempt >= limits.WEBHOOK_ATTEMPTS_MAX:
        values, counted = {"status": "failed", "finished_at": now}, WebhookOutcome.GAVE_UP
    else:
        values = {"next_attempt_at": now + timedelta(seconds=retry_delay_s(claimed.attempt))}
        counted = WebhookOutcome.FAILED_RETRYING
    updated = connection.execute(deliveries.update().where(still_ours).values(**seen, **values)).rowcount
    if updated:  # a lost claim's outcome is not the one that counts
        count_webhook_outcome(connection, counted)
    if updated and outcome.status_code == 410:
        _disable(connection, claimed.endpoint_id, now=now)


def _disable(connection: Connection, endpoint_id: str, *, now: datetime) -> None:
    """410 Gone says the receiver will never want these events again."""
    reason = "The endpoint answered 410 Gone."
    connection.execute(endpoints.update().where(endpoints.c.id == endpoint_id).values(
        status="disabled", disabled_reason=reason))
    give_up_pending(connection, endpoint_id, f"Not sent: {reason}", now=now)
