"""Sandbox connectors: a card acquirer that decides outcomes from the card number, the way
Stripe's test cards do, and e-wallets whose payer approves on a sandbox page.

They stand for the outside world, so they keep their own records (``sandbox_operations``), in
transactions of their own, which reconciliation can compare with our ledger."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from datetime import date, datetime, time as time_of_day, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from amanah.cards.connectors import CardDetails, Operation, OperationStatus as S, Settlement, SettlementKind
from amanah.cards.errors import ConnectorTimeout
from amanah.cards.models import sandbox_operations as ops
from amanah.cards.vault import keyring
from amanah.core.clock import clock
from amanah.core.config import Settings
from amanah.core.db import run_in_transaction
from amanah.money import Money, currency

SUCCESS = "succeeds"
THREE_D_SECURE = "requires 3-D Secure"
TIMEOUT = "network timeout"

TEST_CARDS: dict[str, str] = {
    "4242424242424242": SUCCESS,  # Visa
    "5555555555554444": SUCCESS,  # Mastercard
    "2200000000000004": SUCCESS,  # Mir
    "6200000000000005": SUCCESS,  # UnionPay
    "4000000000000002": "card_declined",
    "4000000000009995": "insufficient_funds",
    "4000000000000069": "expired_card",
    "4000000000000127": "incorrect_cvc",
    "4000000000000119": "processing_error",
    "4000000000003220": THREE_D_SECURE,  # Visa
    "5200000000001096": THREE_D_SECURE,  # Mastercard
    "4000000000000051": TIMEOUT,
}
"""The sandbox's documented card numbers (README). Any other valid number succeeds."""

FAILS_AT_BINDING = {"expired_card", "incorrect_cvc"}


def action_secret(settings: Settings, connector: str, charge_id: str) -> str:
    """The secret in a challenge page's link: whoever holds the link the payment returned may
    decide that one payment, once (afterwards the page refuses). Derived (HMAC under a key of its
    own, itself derived from the vault's fingerprint key), so nothing more is stored, and no link
    can be made for another charge."""
    key = hmac.new(keyring(settings).fingerprint_key, b"amanah sandbox action link v1", hashlib.sha256).digest()
    mac = hmac.new(key, f"{connector}:{charge_id}".encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


class _SandboxBase:
    name: str

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine, self.settings = engine, settings

    def _record(self, kind: str, charge_id: str | None, amount: Money, status: S,
                failure_code: str | None = None, operation_id: str | None = None) -> Operation:
        operation_id = operation_id or f"sbx_{secrets.token_hex(12)}"
        now = clock.now()
        run_in_transaction(self.engine, lambda c: c.execute(ops.insert().values(
            id=operation_id, connector=self.name, kind=kind, charge_id=charge_id, amount=amount.amount_minor,
            currency=amount.currency.code, status=status.value, failure_code=failure_code,
            created_at=now, updated_at=now)))
        return self._operation(operation_id, status, failure_code, charge_id)

    def _operation(self, operation_id: str, status: S, failure_code: str | None, charge_id: str | None) -> Operation:
        action_url = None
        if status is S.REQUIRES_ACTION:
            secret = action_secret(self.settings, self.name, charge_id)
            action_url = f"{self.settings.base_url}/sandbox/{self.name}/{charge_id}?secret={secret}"
        return Operation(status, operation_id, failure_code, action_url)

    def status(self, charge_id: str) -> Operation | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(ops).where(ops.c.connector == self.name, ops.c.charge_id == charge_id,
                                     ops.c.kind == "charge")
            ).first()
        return self._operation(row.id, S(row.status), row.failure_code, charge_id) if row else None

    def settlements(self, day: date) -> list[Settlement]:
        """From the sandbox's own table: operations that became final on ``day`` (UTC)."""
        start = datetime.combine(day, time_of_day(0), tzinfo=timezone.utc)
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(ops).where(
                ops.c.connector == self.name, ops.c.status.in_([S.SUCCEEDED.value, S.FAILED.value]),
                ops.c.updated_at >= start, ops.c.updated_at < start + timedelta(days=1)).order_by(ops.c.updated_at)).all()
        return [Settlement(row.charge_id if row.kind == "charge" else row.id, SettlementKind(row.kind),
                           Money(row.amount, currency(row.currency)), S(row.status), row.updated_at, row.id,
                           row.failure_code) for row in rows]

    def complete_action(self, charge_id: str, approved: bool) -> Operation:
        status = S.SUCCEEDED if approved else S.FAILED
        failure = None if approved else "authentication_failed"

        def work(connection) -> Operation | None:
            updated = connection.execute(
                ops.update()
                .where(ops.c.connector == self.name, ops.c.charge_id == charge_id, ops.c.kind == "charge",
                       ops.c.status == S.REQUIRES_ACTION.value)
                .values(status=status.value, failure_code=failure, updated_at=clock.now())
            )
            return None if updated.rowcount == 0 else Operation(status, charge_id, failure)

        done = run_in_transaction(self.engine, work)
        return done or self.status(charge_id) or Operation(S.FAILED, charge_id, "charge_not_found")

    def refund(self, refund_id: str, charge_id: str, amount: Money) -> Operation:
        with self.engine.connect() as connection:
            done = connection.execute(sa.select(ops).where(ops.c.id == refund_id)).first()
        if done is not None:  # asked again after a crash: answer as the first time
            return Operation(S(done.status), done.id, done.failure_code)
        original = self.status(charge_id)
        refunded = self._refunded(charge_id)
        if original is None or original.status is not S.SUCCEEDED:
            return self._record("refund", charge_id, amount, S.FAILED, "charge_not_captured", refund_id)
        if refunded + amount.amount_minor > self._charged(charge_id):
            return self._record("refund", charge_id, amount, S.FAILED, "refund_exceeds_charge", refund_id)
        return self._record("refund", charge_id, amount, S.SUCCEEDED, None, refund_id)

    def _charged(self, charge_id: str) -> int:
        with self.engine.connect() as connection:
            return connection.execute(sa.select(ops.c.amount).where(
                ops.c.connector == self.name, ops.c.charge_id == charge_id, ops.c.kind == "charge")).scalar_one()

    def _refunded(self, charge_id: str) -> int:
        with self.engine.connect() as connection:
            return connection.execute(sa.select(sa.func.coalesce(sa.func.sum(ops.c.amount), 0)).where(
                ops.c.connector == self.name, ops.c.charge_id == charge_id, ops.c.kind == "refund",
                ops.c.status == S.SUCCEEDED.value)).scalar_one()


class SandboxAcquirer(_SandboxBase):
    name = "sandbox_acquirer"

    def _outcome(self, card: CardDetails) -> str:
        outcome = TEST_CARDS.get(card.number.reveal(), SUCCESS)
        if outcome == TIMEOUT:
            time.sleep(self.settings.connector_timeout_s)
            raise ConnectorTimeout("The card network did not answer in time; nothing was charged. "
                                   "Please try again.")
        return outcome

    def verify(self, card: CardDetails) -> Operation:
        outcome = TEST_CARDS.get(card.number.reveal(), SUCCESS)
        if outcome in FAILS_AT_BINDING:
            return Operation(S.FAILED, "verify", outcome)
        return Operation(S.SUCCEEDED, "verify")

    def charge(self, charge_id: str, card: CardDetails, amount: Money) -> Operation:
        outcome = self._outcome(card)
        if outcome == SUCCESS:
            return self._record("charge", charge_id, amount, S.SUCCEEDED)
        if outcome == THREE_D_SECURE:
            return self._record("charge", charge_id, amount, S.REQUIRES_ACTION)
        return self._record("charge", charge_id, amount, S.FAILED, outcome)

    def payout(self, payout_id: str, card: CardDetails, amount: Money) -> Operation:
        done = self.payout_status(payout_id)
        if done is not None:  # asked again after a crash: answer as the first time
            return done
        outcome = self._outcome(card)
        if outcome in (SUCCESS, THREE_D_SECURE):  # payouts need no challenge
            return self._record("payout", payout_id, amount, S.SUCCEEDED, None, payout_id)
        return self._record("payout", payout_id, amount, S.FAILED, outcome, payout_id)

    def payout_status(self, payout_id: str) -> Operation | None:
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(ops).where(ops.c.id == payout_id, ops.c.kind == "payout")).first()
        return Operation(S(row.status), row.id, row.failure_code) if row else None


class SandboxEWallet(_SandboxBase):
    """An e-wallet: every payment is approved by the payer on the provider's (sandbox) page."""

    def __init__(self, engine: Engine, settings: Settings, name: str) -> None:
        super().__init__(engine, settings)
        self.name = name

    def charge(self, charge_id: str, amount: Money) -> Operation:
        return self._record("charge", charge_id, amount, S.REQUIRES_ACTION)


EWALLET_PROVIDERS = ("alphapay", "betawallet")
"""The sandbox e-wallets, used as ``source: "wallet:alphapay"``."""
