"""Withdrawals: the balance paid out to one of the user's cards.

The amount is held at once — a pending transfer wallet → payout clearing, in the transaction
that checks the balance and the limits — so it cannot be spent twice while the acquirer works.
The payout is called outside any transaction (no lock is held while the outside world answers);
then a second transaction posts the hold (paid) or voids it (the money is back on the balance).
Allowed while winding down: taking one's money out is what a wind-down is for."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from amanah import ledger
from amanah.cards import service as card_service
from amanah.cards.connectors import CardDetails, Operation, OperationStatus
from amanah.cards.connectors.registry import card_acquirer
from amanah.cards.errors import ConnectorTimeout
from amanah.core import limits
from amanah.core.config import Settings
from amanah.core.db import run_in_transaction
from amanah.core.errors import NotFound
from amanah.core.ids import has_prefix, new_id
from amanah.ledger import AccountKind, TransferRequest
from amanah.money import Money
from amanah.wallet.errors import WithdrawalLimitExceeded
from amanah.wallet.models import withdrawals
from amanah.wallet.service.common import PAYOUT_CONNECTOR, card_label, wallet

CODE_HOLD, CODE_PAID, CODE_RETURNED = "withdrawal_hold", "withdrawal_paid", "withdrawal_returned"
COUNTED_STATUSES = ("processing", "succeeded")
"""Withdrawals that count against the daily limit: failed ones gave the money back."""


def per_transaction_max(settings: Settings, currency_code: str) -> Money:
    from amanah.money import currency

    found = currency(currency_code)
    if currency_code in settings.withdrawal_per_transaction_max:
        return Money(settings.withdrawal_per_transaction_max[currency_code], found)
    return Money.of_major(limits.WITHDRAWAL_PER_TRANSACTION_MAX_MAJOR[currency_code], found)


def daily_max(settings: Settings, currency_code: str) -> Money:
    from amanah.money import currency

    if currency_code in settings.withdrawal_daily_max:
        return Money(settings.withdrawal_daily_max[currency_code], currency(currency_code))
    return per_transaction_max(settings, currency_code) * limits.WITHDRAWAL_DAILY_MAX_FACTOR


def _withdrawn_today(connection: Connection, user_id: str, currency_code: str, now: datetime) -> int:
    since = now - timedelta(seconds=limits.WITHDRAWAL_DAILY_WINDOW_S)
    # PostgreSQL sums bigints as numeric: cast back, exactly, to an integer of minor units.
    total = sa.cast(sa.func.coalesce(sa.func.sum(withdrawals.c.amount), 0), sa.BigInteger)
    return connection.execute(
        sa.select(total).where(
            withdrawals.c.user_id == user_id, withdrawals.c.currency == currency_code,
            withdrawals.c.created_at > since, withdrawals.c.status.in_(COUNTED_STATUSES))).scalar_one()


def _check_single(settings: Settings, amount: Money) -> None:
    single = per_transaction_max(settings, amount.currency.code)
    if amount.amount_minor > single.amount_minor:
        raise WithdrawalLimitExceeded(f"A single withdrawal can be at most {single.format()}.", param="amount")


def _check_daily(connection: Connection, settings: Settings, user_id: str, amount: Money, now: datetime) -> None:
    """Runs after the hold is made: the ledger then holds the wallet's row lock, so two
    withdrawals of one user are counted one after the other, never both against the same total."""
    allowed = daily_max(settings, amount.currency.code)
    left = allowed.amount_minor - _withdrawn_today(connection, user_id, amount.currency.code, now)
    if amount.amount_minor > left:
        shown = Money(max(left, 0), amount.currency).format()
        raise WithdrawalLimitExceeded(
            f"You can withdraw at most {allowed.format()} in 24 hours; {shown} is left now.", param="amount")


def _hold(connection: Connection, settings: Settings, withdrawal_id: str, user_id: str, amount: Money,
          card_id: str, now: datetime) -> CardDetails:
    """The first step: hold the money, check the limits, record; returns the card for the payout."""
    card = card_service.get_card(connection, user_id, card_id)
    _check_single(settings, amount)
    code = amount.currency.code
    clearing = ledger.open_account(connection, kind=AccountKind.PAYOUT_CLEARING, owner_ref=PAYOUT_CONNECTOR,
                                   currency=code, now=now)
    ledger.create_transfer(connection, TransferRequest.pending(
        f"{withdrawal_id}:hold", debit=wallet(connection, user_id, code, now).id, credit=clearing.id,
        amount=amount.amount_minor, code=CODE_HOLD, reference=withdrawal_id), now=now)
    _check_daily(connection, settings, user_id, amount, now)
    connection.execute(withdrawals.insert().values(
        id=withdrawal_id, user_id=user_id, amount=amount.amount_minor, currency=code, card_id=card.id,
        destination_label=card_label(card.brand, card.last4), connector=PAYOUT_CONNECTOR,
        status="processing", created_at=now, updated_at=now))
    return card_service.card_details(connection, settings, user_id, card_id)


def withdraw(engine: Engine, settings: Settings, user_id: str, amount: Money, card_id: str, *,
             now: datetime, withdrawal_id: str | None = None) -> dict:
    """Pays ``amount`` out to the card; ``insufficient_funds`` (402) or a limit (400) and
    nothing moves; a declined payout voids the hold (status ``failed``, money back).

    ``withdrawal_id`` (derived from the request's idempotency key) makes a request run again
    find the first run's withdrawal (settled by the recovery job if it was cut short)."""
    if withdrawal_id is not None:
        with engine.connect() as connection:
            if connection.execute(sa.select(withdrawals.c.id).where(withdrawals.c.id == withdrawal_id)).first():
                return get_withdrawal(connection, user_id, withdrawal_id)
    withdrawal_id = withdrawal_id or new_id("wdr")
    card = run_in_transaction(engine, lambda c: _hold(c, settings, withdrawal_id, user_id, amount, card_id, now))
    try:
        operation = card_acquirer(engine, settings).payout(withdrawal_id, card, amount)
    except ConnectorTimeout:
        # The sandbox times out before paying anything. A real acquirer's timeout is ambiguous:
        # its payouts are idempotent by our id, so a reconciliation job would ask it again.
        operation = Operation(OperationStatus.FAILED, withdrawal_id, "connector_timeout")
    del card  # the number leaves memory as soon as the acquirer has it
    return run_in_transaction(engine, lambda c: settle(c, withdrawal_id, operation, now=now))


def settle(connection: Connection, withdrawal_id: str, operation: Operation, *, now: datetime) -> dict:
    """Posts the hold (paid) or voids it (returned), once: a second call changes nothing."""
    row = connection.execute(sa.select(withdrawals).where(withdrawals.c.id == withdrawal_id).with_for_update()).one()
    if row.status == "processing":
        paid = operation.status is OperationStatus.SUCCEEDED
        resolve = (TransferRequest.post(f"{row.id}:paid", pending_id=f"{row.id}:hold", code=CODE_PAID, reference=row.id)
                   if paid else
                   TransferRequest.void(f"{row.id}:returned", pending_id=f"{row.id}:hold", code=CODE_RETURNED,
                                        reference=row.id))
        ledger.create_transfer(connection, resolve, now=now)
        connection.execute(withdrawals.update().where(withdrawals.c.id == row.id).values(
            status="succeeded" if paid else "failed", failure_code=None if paid else operation.failure_code,
            connector_reference=operation.reference[:64], updated_at=now))
    return get_withdrawal(connection, row.user_id, withdrawal_id)


def recover_stuck(engine: Engine, settings: Settings, *, now: datetime, older_than_s: float, limit: int) -> int:
    """Settles withdrawals a crash left ``processing`` (the money held, the payout's fate
    unknown to us) from what the acquirer says: paid → posted; never received → returned."""
    with engine.connect() as connection:
        stuck = connection.execute(sa.select(withdrawals.c.id).where(
            withdrawals.c.status == "processing",
            withdrawals.c.updated_at < now - timedelta(seconds=older_than_s)).limit(limit)).scalars().all()
    acquirer = card_acquirer(engine, settings)
    for withdrawal_id in stuck:
        known = acquirer.payout_status(withdrawal_id)
        operation = known or Operation(OperationStatus.FAILED, withdrawal_id, "processing_error")
        run_in_transaction(engine, lambda c: settle(c, withdrawal_id, operation, now=now))
    return len(stuck)


def get_withdrawal(connection: Connection, user_id: str, withdrawal_id: str) -> dict:
    """The user's withdrawal as the API shows it; another user's is "not found"."""
    row = None
    if isinstance(withdrawal_id, str) and has_prefix(withdrawal_id, "wdr"):
        row = connection.execute(sa.select(withdrawals).where(
            withdrawals.c.id == withdrawal_id, withdrawals.c.user_id == user_id)).first()
    if row is None:
        raise NotFound(f"No withdrawal {str(withdrawal_id)[:40]}.", param="id")
    return {"id": row.id, "amount": row.amount, "currency": row.currency, "status": row.status,
            "failure_code": row.failure_code, "card_id": row.card_id, "destination_label": row.destination_label,
            "created_at": row.created_at, "updated_at": row.updated_at}
