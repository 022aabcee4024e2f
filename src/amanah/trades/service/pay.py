"""The buyer pays: from the balance at once, or by card or e-wallet through a charge.

Escrow is one pending ledger transfer from the buyer's wallet to the seller's, so the buyer and
the seller both see the money as held. Paying in another currency converts first, at a locked
quote, in the same linked batch: all of it happens or none of it. On PostgreSQL a plain payment
from the balance first tries ``pay_from_balance_at_once``: one read, one statement that writes it
all, no transaction (issue #10)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from amanah import ledger
from amanah.fx import service as fx_service
from amanah.fx.types import Quote
from amanah.cards import charges
from amanah.core import service_mode
from amanah.core.config import Settings
from amanah.core.db import OnDriver, commit_point, is_sqlite, run_autocommit, run_in_transaction
from amanah.core.errors import AppError, Conflict, InvalidRequest
from amanah.ledger import AccountKind, TransferRequest
from amanah.money import Money
from amanah.trades.models import trades
from amanah.platforms.webhooks import service as webhooks
from amanah.trades.service.common import (
    ROW_VERSION, Trade, account_ids, clearing_account, emit, event_values, load, no_trade, save,
    save_if_unchanged, save_if_unchanged_values, wallet,
)
from amanah.trades.states import TradeStatus, check_transition

PAYMENT_IN_PROGRESS = {"processing", "requires_action"}


@dataclass(frozen=True)
class PayRequest:
    source: str
    pay_currency: str | None = None
    quote_id: str | None = None
    return_url: str | None = None


@dataclass(frozen=True)
class AlsoWrite:
    """A write of the caller's, made in the payment's own statement and only if the payment is
    made there (the API records an Idempotency-Key with its answer so, committed with the
    payment): ``cte`` builds it from the statement's guard (a CTE with one row when the trade
    was saved, none otherwise), ``values`` binds it for the trade as paid. Where it fails the
    statement (``refused`` says so of the error), nothing was written, as for a changed row."""
    cte: Callable[[sa.CTE], sa.CTE]
    values: Callable[[Trade], dict]
    refused: Callable[[DBAPIError], bool]


@dataclass(frozen=True)
class BuyerLookUp:
    """The buyer as the fast path's read of the trade finds them: the caller's credentials
    looked up in that same statement, one round trip fewer (the API's bearer token or
    session). ``user_id`` is a scalar subquery bound by ``values``, NULL when the credentials
    are not current; ``judged`` turns what it found into the buyer's user id, or raises the
    error to answer (401) before anything is said about the trade."""
    user_id: sa.ScalarSelect
    values: dict
    judged: Callable[[str | None], str]


def _lock_for_payment(connection: Connection, trade_id: str, buyer_user_id: str) -> Trade:
    return _payable(load(connection, trade_id, for_update=True), trade_id, buyer_user_id)


def _payable(trade: Trade, trade_id: str, buyer_user_id: str) -> Trade:
    if trade.buyer_user_id != buyer_user_id:
        raise no_trade(trade_id)
    check_transition(trade.status, TradeStatus.HELD, "paid")
    if trade.payment_status in PAYMENT_IN_PROGRESS:
        raise Conflict("A payment for this trade is already under way; finish or wait for it.",
                       code="payment_in_progress")
    return trade


def _quote_for(connection: Connection, settings: Settings, trade: Trade, request: PayRequest,
               now: datetime) -> Quote | None:
    """The locked quote when paying in another currency; None when paying in the trade's."""
    pay_currency = request.pay_currency or trade.currency
    if request.quote_id is None and pay_currency == trade.currency:
        return None
    if request.quote_id is None:
        quote = fx_service.create_quote(connection, sell_currency=pay_currency, buy=trade.money,
                                        settings=settings, now=now, owner_ref=trade.buyer_user_id)
        return fx_service.lock_quote(connection, quote.id, used_by=trade.id, now=now, buy=trade.money)
    quote = fx_service.lock_quote(connection, request.quote_id, used_by=trade.id, now=now, buy=trade.money)
    if request.pay_currency and quote.sell.currency.code != request.pay_currency:
        raise InvalidRequest("The quote sells another currency than pay_currency.",
                             code="quote_currency_mismatch", param="quote_id")
    return quote


def _hold_transfers(connection: Connection, trade: Trade, quote, now: datetime) -> list[TransferRequest]:
    """Conversion (when there is a quote) and the escrow hold, as one linked chain."""
    keys = [wallet(trade.buyer_user_id, trade.currency), wallet(trade.seller_user_id, trade.currency)]
    if quote is not None:
        keys.append(wallet(trade.buyer_user_id, quote.sell.currency.code))
    buyer_trade_wallet, seller_wallet, *buyer_pay_wallet = account_ids(connection, now, *keys)
    requests: list[TransferRequest] = []
    if quote is not None:
        requests += fx_service.conversion_transfers(
            connection, quote=quote, from_account_id=buyer_pay_wallet[0], to_account_id=buyer_trade_wallet,
            transfer_id_prefix=f"{trade.id}:pay", now=now, link_to_next=True)
    return [*requests, _hold(trade, buyer_trade_wallet, seller_wallet)]


def _hold(trade: Trade, buyer_wallet: int, seller_wallet: int) -> TransferRequest:
    return TransferRequest.pending(f"{trade.id}:hold:1", debit=buyer_wallet, credit=seller_wallet,
                                   amount=trade.amount, code="trade_hold", reference=trade.id)


def _held(trade: Trade, now: datetime, **payment) -> dict:
    """The changes that mark a trade held (paid): with ``payment``'s, ``save``'s arguments."""
    return dict(status=TradeStatus.HELD, held_amount=trade.amount, hold_transfer_id=f"{trade.id}:hold:1",
                hold_generation=1, paid_at=now, payment_status="succeeded", **payment)


def _mark_held(connection: Connection, trade: Trade, now: datetime, **payment) -> Trade:
    held = save(connection, trade, now, **_held(trade, now, **payment))
    emit(connection, held, "trade.held", now)
    return held


def _from_balance(pay: Money, quote_id: str | None) -> dict:
    return {"payment_source": "balance", "pay_currency": pay.currency.code, "pay_amount": pay.amount_minor,
            "quote_id": quote_id, "payment_failure_code": None}


def pay_from_balance(connection: Connection, settings: Settings, trade_id: str, buyer_user_id: str,
                     request: PayRequest, *, now: datetime,
                     also: Callable[[Connection, Trade], None] | None = None) -> Trade:
    """Holds the price from the buyer's balance (converting first if asked); refused with
    ``insufficient_funds`` when the balance is short, and then nothing moves. ``also`` writes
    the caller's own in the same transaction, given the trade as paid (the API stores an
    Idempotency-Key's answer so)."""
    trade = _lock_for_payment(connection, trade_id, buyer_user_id)
    quote = _quote_for(connection, settings, trade, request, now)
    hold = _hold_transfers(connection, trade, quote, now)
    held = _mark_held(connection, trade, now, **_from_balance(quote.sell if quote else trade.money,
                                                              quote.id if quote else None))
    if also is not None:
        also(connection, held)
    ledger.create_linked(connection, hold, now=now)  # last, as its docstring asks
    return held


@functools.cache
def _read_payable(buyer: sa.ScalarSelect | None) -> OnDriver:
    """The trade with its row version and both wallets' ids; with ``buyer`` (a
    ``BuyerLookUp.user_id``) also what it finds, as ``buyer_found``, in a row of its own when
    there is no such trade (its columns NULL). Built once, run on the driver."""
    payable = [
        trades, ROW_VERSION.label("row_version"),
        ledger.account_id_of(AccountKind.USER_WALLET, trades.c.buyer_user_id, trades.c.currency).label("buyer_wallet"),
        ledger.account_id_of(AccountKind.USER_WALLET, trades.c.seller_user_id, trades.c.currency).label("seller_wallet"),
    ]
    trade = trades.c.id == sa.bindparam("trade_id")
    if buyer is None:
        return OnDriver(sa.select(*payable).where(trade))
    one = sa.select(sa.literal_column("1").label("one")).subquery("one")
    return OnDriver(sa.select(buyer.label("buyer_found"), *payable).select_from(one.outerjoin(trades, trade)))


@functools.cache
def _pay_at_once(columns: frozenset[str], also: Callable[[sa.CTE], sa.CTE] | None) -> OnDriver:
    """The trade marked held (``columns`` changed), its ``trade.held`` event queued, ``also``
    written and the hold made: all of it, in one statement, if the trade's row is as it was
    read; otherwise no row and nothing written. A hold that the ledger's fast path cannot make
    raises (``ledger.not_applied``), and all of it is rolled back. Built once, run on the driver."""
    paid = save_if_unchanged(columns).cte("paid")
    statement = sa.select(ledger.TRANSFER_ONE_OR_RAISE).select_from(paid).add_cte(*webhooks.emitted_with(paid))
    return OnDriver(statement.add_cte(also(paid)) if also else statement)


def pay_from_balance_at_once(engine: Engine, trade_id: str, buyer: str | BuyerLookUp, request: PayRequest, *,
                             now: datetime, also: AlsoWrite | None = None) -> Trade | None:
    """PostgreSQL's fast path for ``pay_from_balance`` in the trade's own currency: two
    statements in autocommit, where the transaction makes seven round trips (issue #10).

    The first reads the trade with its row version and both wallets' ids (and looks the buyer
    up: ``BuyerLookUp``, whose refusal comes first), and the trade is checked as
    ``pay_from_balance`` checks it (a refusal is raised from there). The second
    (``_pay_at_once``) writes everything, whole or not at all, only if the row is as it was read.
    None when it wrote nothing: the row changed meanwhile, a wallet does not exist yet, the
    ledger would have to judge the hold (the balance is short, say), another currency or a
    quote was asked for. Then the caller runs ``pay_from_balance`` in a transaction, which holds
    the row's lock and decides. If the connection is lost during the write, the outcome is
    unknown: ``CommitOutcomeUnknown`` (503), as for a lost COMMIT. ``also`` is written in the
    same statement, and so was written exactly when a trade is returned."""
    if is_sqlite(engine) or request.quote_id is not None:
        return None

    looked_up = not isinstance(buyer, str)

    def work(connection: Connection) -> Trade | None:
        read = _read_payable(buyer.user_id if looked_up else None)
        row = read.first(connection, {"trade_id": trade_id, **buyer.values} if looked_up else {"trade_id": trade_id})
        buyer_user_id = buyer.judged(row.buyer_found) if looked_up else buyer
        if row is None or row.id is None:
            raise no_trade(trade_id)
        trade = _payable(Trade.from_row(row), trade_id, buyer_user_id)
        if (request.pay_currency or trade.currency) != trade.currency or None in (row.buyer_wallet, row.seller_wallet):
            return None
        hold = _hold(trade, row.buyer_wallet, row.seller_wallet)
        transfer = ledger.transfer_in_statement(hold, now=now)
        if transfer is None:
            return None
        changes = _held(trade, now, **_from_balance(trade.money, None))
        held, values = save_if_unchanged_values(trade, row.row_version, now, **changes)
        commit_point(connection)
        statement = _pay_at_once(frozenset(changes), also.cte if also else None)
        values |= event_values(held, "trade.held", now) | transfer | (also.values(held) if also else {})
        if not statement.execute(connection, values):
            return None  # changed since it was read
        ledger.made_in_statement(connection, hold)
        return held

    try:
        return run_autocommit(engine, work)
    except DBAPIError as error:
        if ledger.not_applied(error) or (also is not None and also.refused(error)):
            return None
        raise


def pay_with_charge(engine: Engine, settings: Settings, trade_id: str, buyer_user_id: str,
                    request: PayRequest, *, now: datetime) -> Trade:
    """Charges a card or an e-wallet; the hold is made when the charge succeeds (at once, or
    after 3-D Secure or the e-wallet's page), by ``on_trade_charge_settled``.

    First the trade is marked as being paid (so a second payment is refused) and any quote
    locked; then the charge runs; if it cannot even start, the mark is taken off again. If the
    process dies in between, ``fail_unstarted_payments`` takes it off later (``not_started``)."""
    amount = run_in_transaction(engine, lambda c: _start_payment(c, settings, trade_id, buyer_user_id, request, now))
    return _charge_for_payment(engine, settings, trade_id, buyer_user_id, request, amount, now)


def _charge_for_payment(engine: Engine, settings: Settings, trade_id: str, buyer_user_id: str,
                        request: PayRequest, amount: Money, now: datetime) -> Trade:
    """The second and third steps, after ``_start_payment``: start the charge, settle."""

    def link_charge(connection: Connection, charge_id: str) -> None:
        trade = load(connection, trade_id, for_update=True)
        if trade.payment_status != "processing" or trade.charge_id is not None:
            # The job gave up on this payment meanwhile: this charge is rolled back unsent.
            raise Conflict("This payment took too long to start and was cancelled; nothing was charged. "
                           "Please pay again.", code="payment_not_started")
        save(connection, trade, now, charge_id=charge_id)

    try:
        charge = charges.start_charge(engine, settings, user_id=buyer_user_id, source=request.source,
                                      amount=amount, purpose=f"trade:{trade_id}", now=now,
                                      return_url=request.return_url, prepare=link_charge)
    except AppError:
        run_in_transaction(engine, lambda c: _unmark_unstarted(c, trade_id, now, payment_status=None))
        raise
    if charge.status is charges.ChargeStatus.REQUIRES_ACTION:
        run_in_transaction(engine, lambda c: _awaiting_action(c, trade_id, charge.id, now))
    with engine.connect() as connection:
        return load(connection, trade_id)


def _unmark_unstarted(connection: Connection, trade_id: str, now: datetime, **payment) -> int:
    """Takes the "being paid" mark off a payment whose charge never started (none linked);
    1 if it did, 0 if the payment has moved on meanwhile."""
    trade = load(connection, trade_id, for_update=True)
    if trade.payment_status != "processing" or trade.charge_id is not None:
        return 0
    save(connection, trade, now, charge_id=None, **payment)
    return 1


def fail_unstarted_payments(engine: Engine, *, now: datetime, older_than_s: float, limit: int) -> int:
    """Marks ``failed`` (``not_started``) the card or e-wallet payments a crash left
    ``processing`` before their charge started: nothing was charged, and the buyer can pay
    again (the trade is still awaiting payment, unless it closed meanwhile)."""
    with engine.connect() as connection:
        unstarted = connection.execute(sa.select(trades.c.id).where(
            trades.c.payment_status == "processing", trades.c.charge_id.is_(None),
            trades.c.updated_at < now - timedelta(seconds=older_than_s)).limit(limit)).scalars().all()
    failed = 0
    for trade_id in unstarted:
        failed += run_in_transaction(engine, lambda c: _unmark_unstarted(
            c, trade_id, now, payment_status="failed", payment_failure_code="not_started"))
    return failed


def _awaiting_action(connection: Connection, trade_id: str, charge_id: str, now: datetime) -> None:
    trade = load(connection, trade_id, for_update=True)
    if trade.charge_id == charge_id and trade.payment_status == "processing":  # not settled meanwhile
        save(connection, trade, now, payment_status="requires_action")


def _start_payment(connection: Connection, settings: Settings, trade_id: str, buyer_user_id: str,
                   request: PayRequest, now: datetime) -> Money:
    trade = _lock_for_payment(connection, trade_id, buyer_user_id)
    # A charge brings new money in; while winding down only what users hold can be spent.
    service_mode.refuse_new_business(connection, "Paying by card or e-wallet")
    quote = _quote_for(connection, settings, trade, request, now)
    pay = quote.sell if quote else trade.money
    save(connection, trade, now, payment_status="processing", payment_source=request.source,
         pay_currency=pay.currency.code, pay_amount=pay.amount_minor, charge_id=None,
         quote_id=quote.id if quote else None, payment_failure_code=None)
    return pay


@charges.on_settled("trade")
def on_trade_charge_settled(connection: Connection, charge: charges.Charge, now: datetime) -> None:
    """Runs once, in the transaction that settles the charge."""
    trade = load(connection, charge.purpose_id, for_update=True)
    if charge.status is charges.ChargeStatus.FAILED:
        save(connection, trade, now, payment_status="failed", payment_failure_code=charge.failure_code)
        return
    clearing, pay_wallet = account_ids(connection, now, clearing_account(charge.connector, charge.amount.currency.code),
                                       wallet(trade.buyer_user_id, charge.amount.currency.code))
    fund = TransferRequest.direct(f"{trade.id}:fund", debit=clearing, credit=pay_wallet,
                                  amount=charge.amount.amount_minor, code="trade_funding", reference=trade.id)
    if trade.status is not TradeStatus.AWAITING_PAYMENT or trade.charge_id != charge.id:
        # The trade closed while the payer was at the bank: the money stays on their balance.
        ledger.create_transfer(connection, fund, now=now)
        save(connection, trade, now, payment_status="credited_to_balance")
        return
    quote = fx_service.get_quote(connection, trade.quote_id) if trade.quote_id else None
    hold = _hold_transfers(connection, trade, quote, now)
    _mark_held(connection, trade, now)
    ledger.create_linked(connection, [fund, *hold], now=now)  # last, as its docstring asks
