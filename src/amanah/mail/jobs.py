"""The sender job: delivers due messages from the outbox."""

from __future__ import annotations

import logging
import smtplib
from datetime import datetime

from sqlalchemy.engine import Engine

from amanah.core import jobs
from amanah.core.config import Settings
from amanah.core.db import run_in_transaction
from amanah.mail import service, transport
from amanah.mail.templates import render

log = logging.getLogger("amanah.mail")


@jobs.register("mail.deliver", interval_s=2.0)
def deliver_due(engine: Engine, settings: Settings, now: datetime) -> int:
    """Claims a batch, sends each message outside any transaction, records each outcome."""
    claimed = run_in_transaction(engine, lambda conn: service.claim_due(conn, now=now))
    for mail in claimed:
        _deliver_one(engine, settings, mail, now)
    return len(claimed)


def _deliver_one(engine: Engine, settings: Settings, mail: service.QueuedMail, now: datetime) -> None:
    rendered = render(mail.template, mail.locale, mail.params, settings.base_url)
    message = transport.build_message(sender=settings.mail_from, to=mail.to, rendered=rendered, now=now)
    try:
        transport.deliver(message, settings)
    except transport.PermanentFailure as error:
        _record_failure(engine, mail, str(error), permanent=True, now=now)
    except (OSError, smtplib.SMTPException) as error:
        _record_failure(engine, mail, f"{type(error).__name__}: {error}", permanent=False, now=now)
    else:
        run_in_transaction(engine, lambda conn: service.mark_sent(conn, mail.id, rendered,
                                                                    keep_bodies=settings.is_test, now=now))


def _record_failure(engine: Engine, mail: service.QueuedMail, error: str, *, permanent: bool, now: datetime) -> None:
    # The address is personal data but needed to act on a failure; the body is never logged.
    log.warning("mail %s (%s) not delivered, attempt %s: %s", mail.id, mail.template, mail.attempts, error)
    run_in_transaction(engine, lambda conn: service.mark_not_sent(conn, mail, error, permanent=permanent, now=now))
