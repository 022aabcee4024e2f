"""Top-ups: a card (or e-wallet) charge into the balance, in any of the 14 currencies.

Three steps, as every charge (``cards.charges``): our transaction records the top-up (refused
while winding down) and locks a quote when the card is charged in another currency; the
connector is called outside any transaction; the charge settles. The ledger moves only in the
settling transaction, in ``on_topup_charge_settled`` — card clearing → wallet in the charged
currency, then, if converted, the conversion into the top-up's currency, all linked — so a
declined, failed or abandoned 3-D Secure charge moves nothing.

A crash between recording the top-up and starting its charge leaves it ``processing`` with no
charge: a retry with the same Idempotency-Key starts the charge then (``start_topup``), and
otherwise the ``wallet.fail_unstarted_topups`` job marks it failed (``not_started``) after
``TOPUP_UNSTARTED_FAIL_AFTER_S``. The charge is linked only to a top-up still without one, in
the charge's first transaction, so neither two runs nor a run and the job both go on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from amanah import ledger
from amanah.cards import charges
from amanah.cards import service as card_service
from amanah.core.config import Settings
from amanah.core.db import run_in_transaction
from amanah.core.errors import AppError, InvalidRequest, NotFound
from amanah.core.ids import has_prefix, new_id
from amanah.core.service_mode import refuse_new_business
from amanah.fx import service as fx_service
from amanah.ledger import AccountKind, TransferRequest
from amanah.money import Money, currency
from amanah.wallet.models import topups
from amanah.wallet.service.common import card_label, wallet


@dataclass(frozen=True)
class TopupRequest:
    amount: Money
    """What arrives on the balance."""
    source: str
    """``card_…`` or ``wallet:<provider>``."""
    charge_currency: str | None = None
    """Charge the card in this currency, converted at a locked quote (None: ``amount``'s)."""
    quote_id: str | None = None
    return_url: str | None = None


def _source_label(connection: Connection, user_id: str, source: str) -> str:
    if source.startswith("card_"):
        card = card_service.get_card(connection, user_id, source)
        return card_label(card.brand, card.last4)
    connector, _ = charges.parse_source(source)
    return connector.title()


def _quote(connection: Connection, settings: Settings, topup_id: str, user_id: str, request: TopupRequest,
           now: datetime):
    """The locked quote when the card is charged in another currency; None otherwise."""
    charge_code = request.charge_currency or request.amount.currency.code
    if request.quote_id is None and charge_code == request.amount.currency.code:
        return None
    if request.quote_id is None:
        created = fx_service.create_quote(connection, sell_currency=charge_code, buy=request.amount,
                                          settings=settings, now=now, owner_ref=user_id)
        return fx_service.lock_quote(connection, created.id, used_by=topup_id, now=now, buy=request.amount)
    quote = fx_service.lock_quote(connection, request.quote_id, used_by=topup_id, now=now, buy=request.amount)
    if request.charge_currency and quote.sell.currency.code != charge_code:
        raise InvalidRequest("The quote sells another currency than charge_currency.",
                             code="quote_currency_mismatch", param="quote_id")
    return quote


def _record(connection: Connection, settings: Settings, topup_id: str, user_id: str, request: TopupRequest,
            now: datetime) -> Money:
    """The first step: refuse while winding down, check the source, lock any quote, record."""
    refuse_new_business(connection, "Top-ups")
    label = _source_label(connection, user_id, request.source)
    quote = _quote(connection, settings, topup_id, user_id, request, now)
    charged = quote.sell if quote else request.amount
    connection.execute(topups.insert().values(
        id=topup_id, user_id=user_id, amount=request.amount.amount_minor, currency=request.amount.currency.code,
        source=request.source, source_label=label, charge_amount=charged.amount_minor,
        charge_currency=charged.currency.code, quote_id=quote.id if quote else None, status="processing",
        created_at=now, updated_at=now))
    return charged


def start_topup(engine: Engine, settings: Settings, user_id: str, request: TopupRequest, *,
                now: datetime, topup_id: str | None = None) -> dict:
    """Tops the balance up from a card or an e-wallet; returns the top-up (``succeeded``,
    ``failed`` with ``failure_code``, or ``requires_action`` with ``next_action``).

    ``topup_id`` (derived from the request's idempotency key) makes a request run again find
    the first run's top-up instead of charging the card twice. If the first run died between
    recording the top-up and starting its charge (``processing``, no charge), the run again
    starts that charge: the charge is linked to the top-up only if none is yet, in the charge's
    own first transaction, so two runs at once charge once."""
    if topup_id is not None:
        with engine.connect() as connection:
            row = connection.execute(sa.select(topups).where(topups.c.id == topup_id)).first()
        if row is not None:
            if row.user_id == user_id and row.status == "processing" and row.charge_id is None:
                charged = Money(row.charge_amount, currency(row.charge_currency))
                return _charge(engine, settings, user_id, topup_id, row.source, charged, request.return_url, now,
                               restarted=True)
            with engine.connect() as connection:
                return get_topup(connection, user_id, topup_id)
    topup_id = topup_id or new_id("top")
    charged = run_in_transaction(engine, lambda c: _record(c, settings, topup_id, user_id, request, now))
    return _charge(engine, settings, user_id, topup_id, request.source, charged, request.return_url, now)


class _ChargeAlreadyStarted(Exception):
    """Another run linked a charge to the top-up first (or the job gave up on it): this run's
    charge is rolled back before the connector hears of it."""


def _charge(engine: Engine, settings: Settings, user_id: str, topup_id: str, source: str, charged: Money,
            return_url: str | None, now: datetime, *, restarted: bool = False) -> dict:
    """The second and third steps: charge the recorded top-up, settle; returns the top-up.
    ``restarted``: a run again after a crash, which winding down refuses (the top-up fails)."""

    def link_charge(connection: Connection, charge_id: str) -> None:
        if restarted:
            refuse_new_business(connection, "Top-ups")
        if not _update(connection, topup_id, now, only_if="processing", unlinked=True, charge_id=charge_id):
            raise _ChargeAlreadyStarted(topup_id)

    try:
        charge = charges.start_charge(engine, settings, user_id=user_id, source=source, amount=charged,
                                      purpose=f"topup:{topup_id}", now=now, return_url=return_url,
                                      prepare=link_charge)
    except _ChargeAlreadyStarted:
        pass  # the other run's answer is the top-up's
    except AppError as error:  # the charge never started: the top-up failed, nothing moved
        failure_code = error.code[:32]
        run_in_transaction(engine, lambda c: _update(c, topup_id, now, only_if="processing", unlinked=True,
                                                     status="failed", failure_code=failure_code))
        raise
    else:
        if charge.status is charges.ChargeStatus.REQUIRES_ACTION:
            run_in_transaction(engine, lambda c: _update(c, topup_id, now, status="requires_action",
                                                         only_if="processing"))
    with engine.connect() as connection:
        return get_topup(connection, user_id, topup_id)


def fail_unstarted(engine: Engine, *, now: datetime, older_than_s: float, limit: int) -> int:
    """Marks ``failed`` (``not_started``) the top-ups a crash left ``processing`` before their
    charge started: no charge, so nothing was taken and nothing moved. Guarded like the link, so
    a run again starting the charge at the same moment and this job cannot both win."""
    with engine.connect() as connection:
        unstarted = connection.execute(sa.select(topups.c.id).where(
            topups.c.status == "processing", topups.c.charge_id.is_(None),
            topups.c.updated_at < now - timedelta(seconds=older_than_s)).limit(limit)).scalars().all()
    failed = 0
    for topup_id in unstarted:
        failed += run_in_transaction(engine, lambda c: _update(
            c, topup_id, now, only_if="processing", unlinked=True, status="failed", failure_code="not_started"))
    return failed


def _update(connection: Connection, topup_id: str, now: datetime, *, only_if: str | None = None,
            unlinked: bool = False, **values) -> int:
    """Updates the top-up; with ``only_if``, only while it has that status (not settled
    meanwhile, e.g. by a fast 3-D Secure page); with ``unlinked``, only while no charge is
    linked. Returns how many rows changed (0 or 1)."""
    query = topups.update().where(topups.c.id == topup_id)
    if only_if is not None:
        query = query.where(topups.c.status == only_if)
    if unlinked:
        query = query.where(topups.c.charge_id.is_(None))
    return connection.execute(query.values(updated_at=now, **values)).rowcount


@charges.on_settled("topup")
def on_topup_charge_settled(connection: Connection, charge: charges.Charge, now: datetime) -> None:
    """Runs once, in the transaction that settles the charge: credits the balance or marks the
    top-up failed."""
    row = connection.execute(sa.select(topups).where(topups.c.id == charge.purpose_id).with_for_update()).one()
    if charge.status is charges.ChargeStatus.FAILED:
        _update(connection, row.id, now, status="failed", failure_code=charge.failure_code)
        return
    credit = _credit_transfers(connection, row, charge, now)
    _update(connection, row.id, now, status="succeeded", failure_code=None)
    ledger.create_linked(connection, credit, now=now)  # last, as its docstring asks


def _credit_transfers(connection: Connection, row, charge: charges.Charge, now: datetime) -> list[TransferRequest]:
    """Clearing → the wallet in the charged currency; then the conversion, when there is one."""
    code = charge.amount.currency.code
    kind = AccountKind.CARD_CLEARING if charge.card_id else AccountKind.EWALLET_CLEARING
    clearing = ledger.open_account(connection, kind=kind, owner_ref=charge.connector, currency=code, now=now)
    charged_wallet = wallet(connection, row.user_id, code, now).id
    requests = [TransferRequest.direct(f"{row.id}:topup", debit=clearing.id, credit=charged_wallet,
                                       amount=charge.amount.amount_minor, code="topup", reference=row.id)]
    if row.quote_id:
        quote = fx_service.get_quote(connection, row.quote_id)
        requests += fx_service.conversion_transfers(
            connection, quote=quote, from_account_id=charged_wallet,
            to_account_id=wallet(connection, row.user_id, row.currency, now).id,
            transfer_id_prefix=f"{row.id}:fx", now=now)
    return requests


def get_topup(connection: Connection, user_id: str, topup_id: str) -> dict:
    """The user's top-up as the API shows it; another user's is "not found"."""
    row = None
    if isinstance(topup_id, str) and has_prefix(topup_id, "top"):
        row = connection.execute(sa.select(topups).where(topups.c.id == topup_id, topups.c.user_id == user_id)).first()
    if row is None:
        raise NotFound(f"No top-up {str(topup_id)[:40]}.", param="id")
    return _payload(connection, row)


def _payload(connection: Connection, row) -> dict:
    next_action = None
    if row.status == "requires_action" and row.charge_id:
        next_action = {"type": "redirect_to_url", "url": charges.get_charge(connection, row.charge_id).action_url}
    return {
        "id": row.id, "amount": row.amount, "currency": row.currency, "status": row.status,
        "failure_code": row.failure_code, "next_action": next_action, "source": row.source,
        "source_label": row.source_label,
        "charge": Money(row.charge_amount, currency(row.charge_currency)).to_dict(), "quote_id": row.quote_id,
        "created_at": row.created_at, "updated_at": row.updated_at,
    }
