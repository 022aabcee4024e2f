"""The outbox: queue a message (in the caller's transaction), claim due ones, record outcomes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from amanah.core import limits
from amanah.mail.models import outbox
from amanah.mail.templates import LINK_PATHS, Rendered, resolve_locale


@dataclass(frozen=True)
class QueuedMail:
    id: int
    to: str
    template: str
    locale: str
    params: dict
    attempts: int


@dataclass(frozen=True)
class SentMail:
    to: str
    subject: str
    text: str | None  # None: sent outside test mode, which keeps no bodies (``mark_sent``)
    html: str | None
    sent_at: datetime


def enqueue(conn: Connection, *, to: str, template: str, locale: str | None, params: dict,
            now: datetime) -> int:
    """Queues one message; it is sent only if the caller's transaction commits."""
    assert template in LINK_PATHS, f"unknown mail template {template!r}"
    assert all(len(str(value)) <= limits.MAIL_PARAM_LENGTH_MAX for value in params.values())
    result = conn.execute(outbox.insert().values(
        to_address=to, template=template, locale=resolve_locale(locale), params=dict(params),
        status="queued", attempts=0, next_attempt_at=now, created_at=now,
    ))
    return result.inserted_primary_key[0]


def claim_due(conn: Connection, *, now: datetime, limit: int = limits.MAIL_SEND_BATCH_MAX) -> list[QueuedMail]:
    """Claims up to ``limit`` due messages for this sender for ``MAIL_CLAIM_LEASE_S``.

    ``SKIP LOCKED`` lets several senders claim at once without waiting on, or taking, each
    other's rows (SQLite has one writer at a time and ignores it)."""
    due = (
        sa.select(outbox.c.id, outbox.c.to_address, outbox.c.template, outbox.c.locale,
                  outbox.c.params, outbox.c.attempts)
        .where(outbox.c.status == "queued", outbox.c.next_attempt_at <= now,
               sa.or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until <= now))
        .order_by(outbox.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = conn.execute(due).all()
    if not rows:
        return []
    conn.execute(
        outbox.update().where(outbox.c.id.in_([row.id for row in rows]))
        .values(claimed_until=now + timedelta(seconds=limits.MAIL_CLAIM_LEASE_S), attempts=outbox.c.attempts + 1)
    )
    return [QueuedMail(row.id, row.to_address, row.template, row.locale, row.params, row.attempts + 1)
            for row in rows]


def mark_sent(conn: Connection, mail_id: int, rendered: Rendered, *, keep_bodies: bool, now: datetime) -> None:
    """Records the delivery and forgets what the mail carried: its parameters (reset and
    invitation links hold live tokens) always, its bodies unless ``keep_bodies`` (test mode,
    for ``GET /v1/test/outbox/mail``)."""
    conn.execute(outbox.update().where(outbox.c.id == mail_id).values(
        status="sent", sent_at=now, claimed_until=None, last_error=None, params={},
        subject=rendered.subject, text_body=rendered.text if keep_bodies else None,
        html_body=rendered.html if keep_bodies else None,
    ))


def mark_not_sent(conn: Connection, mail: QueuedMail, error: str, *, permanent: bool, now: datetime) -> None:
    """Schedules the next try with doubling back-off, or gives up."""
    give_up = permanent or mail.attempts >= limits.MAIL_ATTEMPTS_MAX
    conn.execute(outbox.update().where(outbox.c.id == mail.id).values(
        status="failed" if give_up else "queued",
        next_attempt_at=now + timedelta(seconds=retry_delay_s(mail.attempts)),
        claimed_until=None, last_error=error[:500],
    ))


def retry_delay_s(attempts: int) -> int:
    """30 s after the first failed attempt, then 60, 120… up to four hours."""
    assert attempts >= 1
    return min(limits.MAIL_RETRY_BACKOFF_FIRST_S * 2 ** (attempts - 1), limits.MAIL_RETRY_BACKOFF_MAX_S)


def list_sent(conn: Connection, limit: int = limits.MAIL_OUTBOX_LIST_MAX) -> list[SentMail]:
    """Sent messages, newest first (test mode's ``GET /v1/test/outbox/mail``)."""
    limit = max(1, min(limit, limits.MAIL_OUTBOX_LIST_MAX))
    rows = conn.execute(
        sa.select(outbox.c.to_address, outbox.c.subject, outbox.c.text_body, outbox.c.html_body, outbox.c.sent_at)
        .where(outbox.c.status == "sent")
        .order_by(outbox.c.sent_at.desc(), outbox.c.id.desc())
        .limit(limit)
    ).all()
    return [SentMail(row.to_address, row.subject, row.text_body, row.html_body, row.sent_at) for row in rows]
