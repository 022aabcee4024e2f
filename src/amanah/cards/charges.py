"""Charges: taking money from a card or an e-wallet, for a purpose owned by another domain.

A charge runs in three steps so that no database lock is held while the outside world answers:
(1) a transaction records the charge as ``processing``; (2) the connector is called; (3) a
transaction records the outcome. A charge that needs the payer's approval (3-D Secure, an
e-wallet page) waits in ``requires_action`` until ``complete_action``.

The domain that asked for the charge (a top-up, a trade payment) registers a handler for its
purpose kind with ``@on_settled("topup")``; it runs exactly once, in the same transaction that
marks the charge ``succeeded`` or ``failed``, so the ledger moves with the charge or not at all.
A charge left ``processing`` by a crash is settled later by the ``cards.recover_charges`` job,
from what the connector says happened."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from amanah.cards import service as card_service
from amanah.cards.connectors import Operation, OperationStatus
from amanah.cards.connectors.registry import by_name, card_acquirer, check_ewallet
from amanah.cards.connectors.sandbox import SandboxAcquirer
from amanah.cards.errors import ConnectorTimeout, InvalidCard
from amanah.cards.models import charges
from amanah.core.config import Settings
from amanah.core.db import run_in_transaction
from amanah.core.errors import Conflict, NotFound
from amanah.core.ids import new_id
from amanah.money import Money, currency


class ChargeStatus(enum.StrEnum):
    PROCESSING = "processing"
    """Recorded; the connector has been (or is being) asked."""
    REQUIRES_ACTION = "requires_action"
    """Waiting for the payer to approve at ``action_url``."""
    SUCCEEDED = "succeeded"
    """The money was taken; the purpose's handler has run."""
    FAILED = "failed"
    """Nothing was taken (``failure_code`` says why); the purpose's handler has run."""


FINAL = {ChargeStatus.SUCCEEDED, ChargeStatus.FAILED}


@dataclass(frozen=True)
class Charge:
    id: str
    user_id: str
    method: str
    card_id: str | None
    amount: Money
    status: ChargeStatus
    failure_code: str | None
    purpose: str
    action_url: str | None
    return_url: str | None
    connector: str

    @property
    def purpose_kind(self) -> str:
        return self.purpose.split(":", 1)[0]

    @property
    def purpose_id(self) -> str:
        return self.purpose.split(":", 1)[1]


SettledHandler = Callable[[Connection, Charge, datetime], None]
_handlers: dict[str, SettledHandler] = {}


def on_settled(purpose_kind: str) -> Callable[[SettledHandler], SettledHandler]:
    def register(handler: SettledHandler) -> SettledHandler:
        _handlers[purpose_kind] = handler
        return handler

    return register


def _from_row(row) -> Charge:
    return Charge(row.id, row.user_id, row.method, row.card_id, Money(row.amount, currency(row.currency)),
                  ChargeStatus(row.status), row.failure_code, row.purpose, row.action_url, row.return_url,
                  row.connector)


def get_charge(connection: Connection, charge_id: str) -> Charge:
    row = connection.execute(sa.select(charges).where(charges.c.id == charge_id)).first()
    if row is None:
        raise NotFound(f"No charge {charge_id}.")
    return _from_row(row)


def parse_source(source: str) -> tuple[str, str | None]:
    """``card_…`` or ``wallet:<provider>`` → (connector name, card id or None)."""
    if source.startswith("card_"):
        return SandboxAcquirer.name, source
    if source.startswith("wallet:"):
        return check_ewallet(source.split(":", 1)[1]), None
    raise InvalidCard('The payment source must be "balance", a card id ("card_…") or "wallet:<provider>".',
                      code="invalid_source", param="source")


def start_charge(engine: Engine, settings: Settings, *, user_id: str, source: str, amount: Money,
                 purpose: str, now: datetime, return_url: str | None = None,
                 prepare: Callable[[Connection, str], None] | None = None) -> Charge:
    """Charges ``amount`` from ``source``. ``prepare(connection, charge_id)`` runs in the first
    transaction (the caller records its own side there, e.g. the top-up)."""
    assert purpose.split(":", 1)[0] in _handlers, f"no handler for charges of purpose {purpose!r}"
    connector_name, card_id = parse_source(source)
    charge_id = new_id("chg")

    def record(connection: Connection):
        details = card_service.card_details(connection, settings, user_id, card_id) if card_id else None
        connection.execute(charges.insert().values(
            id=charge_id, user_id=user_id, method="card" if card_id else source, card_id=card_id,
            amount=amount.amount_minor, currency=amount.currency.code, status=ChargeStatus.PROCESSING.value,
            purpose=purpose, return_url=return_url, connector=connector_name, created_at=now, updated_at=now))
        if prepare is not None:
            prepare(connection, charge_id)
        return details

    details = run_in_transaction(engine, record)
    try:
        if details is not None:
            operation = card_acquirer(engine, settings).charge(charge_id, details, amount)
        else:
            operation = by_name(engine, settings, connector_name).charge(charge_id, amount)
    except ConnectorTimeout:
        operation = Operation(OperationStatus.FAILED, charge_id, "connector_timeout")
    return run_in_transaction(engine, lambda c: settle(c, charge_id, operation, now=now))


def settle(connection: Connection, charge_id: str, operation: Operation, *, now: datetime) -> Charge:
    """Records what the connector said; runs the purpose's handler once if that is final."""
    status = ChargeStatus(operation.status.value)
    updated = connection.execute(
        charges.update()
        .where(charges.c.id == charge_id,
               charges.c.status.in_([ChargeStatus.PROCESSING.value, ChargeStatus.REQUIRES_ACTION.value]))
        .values(status=status.value, failure_code=operation.failure_code, connector_reference=operation.reference,
                action_url=operation.action_url, updated_at=now)
    )
    charge = get_charge(connection, charge_id)
    if updated.rowcount == 1 and status in FINAL:
        _handlers[charge.purpose_kind](connection, charge, now)
    return charge


def complete_action(engine: Engine, settings: Settings, charge_id: str, *, approved: bool, now: datetime) -> Charge:
    """The payer approved or refused on the 3-D Secure or e-wallet page."""
    charge = run_in_transaction(engine, lambda c: get_charge(c, charge_id))
    if charge.status is not ChargeStatus.REQUIRES_ACTION:
        if charge.status in FINAL:
            return charge  # a second click on the page changes nothing
        raise Conflict("This payment is not waiting for approval.", code="charge_not_awaiting_action")
    operation = by_name(engine, settings, charge.connector).complete_action(charge_id, approved)
    return run_in_transaction(engine, lambda c: settle(c, charge_id, operation, now=now))


def recover_stuck(engine: Engine, settings: Settings, *, now: datetime, older_than: timedelta, limit: int) -> int:
    """Settles charges left ``processing`` (a crash between the steps) from the connector's record."""
    with engine.connect() as connection:
        stuck = connection.execute(
            sa.select(charges.c.id, charges.c.connector).where(
                charges.c.status == ChargeStatus.PROCESSING.value, charges.c.updated_at < now - older_than)
            .limit(limit)).all()
    for charge_id, connector_name in stuck:
        known = by_name(engine, settings, connector_name).status(charge_id)
        operation = known or Operation(OperationStatus.FAILED, charge_id, "processing_error")
        run_in_transaction(engine, lambda c: settle(c, charge_id, operation, now=now))
    return len(stuck)


def refund_charge(engine: Engine, settings: Settings, *, charge_id: str, refund_id: str,
                  amount: Money) -> Operation | None:
    """Sends ``amount`` of a succeeded charge back to where it came from (card or e-wallet);
    called outside any transaction, and safe to call again with the same ``refund_id``. None
    when the connector did not answer: the outcome is unknown, so ask again later."""
    charge = run_in_transaction(engine, lambda c: get_charge(c, charge_id))
    assert charge.status is ChargeStatus.SUCCEEDED and amount.currency == charge.amount.currency
    try:
        return by_name(engine, settings, charge.connector).refund(refund_id, charge_id, amount)
    except ConnectorTimeout:
        return None
