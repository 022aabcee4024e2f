"""Payment connectors: the small interface a real acquirer (Stripe, Adyen…) or e-wallet
implements, and the sandbox ones that decide outcomes from the card number.

Connectors are the outside world: they are called outside any of our database transactions
(no lock is ever held across one), and they keep their own records. Amounts are ``Money``."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from amanah.cards.vault import CardNumber
from amanah.money import Money


class OperationStatus(enum.StrEnum):
    SUCCEEDED = "succeeded"
    REQUIRES_ACTION = "requires_action"
    """The payer must approve it elsewhere first (3-D Secure, an e-wallet's page)."""
    FAILED = "failed"


@dataclass(frozen=True)
class Operation:
    status: OperationStatus
    reference: str
    failure_code: str | None = None
    action_url: str | None = None


class SettlementKind(enum.StrEnum):
    CHARGE = "charge"
    """Money taken from the payer (card clearing or e-wallet clearing owes it to us)."""
    REFUND = "refund"
    """Money sent back to the payer's card or e-wallet."""
    PAYOUT = "payout"
    """Money paid out to a card (a withdrawal)."""


@dataclass(frozen=True)
class Settlement:
    """One operation the connector settled (succeeded or failed for good), as its own records
    say — what reconciliation compares with our ledger."""

    operation_id: str
    """Our id the connector was given: the charge id, the refund id or the payout id."""
    kind: SettlementKind
    amount: Money
    status: OperationStatus
    """``SUCCEEDED`` or ``FAILED`` (an operation still waiting for the payer is not settled)."""
    settled_at: datetime
    connector_reference: str
    """The connector's own id for it."""
    failure_code: str | None = None


@dataclass(frozen=True)
class CardDetails:
    number: CardNumber
    exp_month: int
    exp_year: int
    cvc: str | None = None
    """Present only when the card is being bound (the CVC is never stored)."""


class CardAcquirer(Protocol):
    name: str

    def verify(self, card: CardDetails) -> Operation:
        """A zero-amount check that the card exists and the CVC matches (at binding)."""

    def charge(self, charge_id: str, card: CardDetails, amount: Money) -> Operation:
        """Authorises and captures ``amount``; may require 3-D Secure."""

    def complete_action(self, charge_id: str, approved: bool) -> Operation:
        """The payer approved (or failed) the challenge of a charge that required action."""

    def refund(self, refund_id: str, charge_id: str, amount: Money) -> Operation:
        """Returns all or part of a captured charge to the card. Idempotent by ``refund_id``: the
        same refund asked again (after a crash) is not paid twice."""

    def payout(self, payout_id: str, card: CardDetails, amount: Money) -> Operation:
        """Sends money to a card (a withdrawal). Idempotent by ``payout_id``."""

    def payout_status(self, payout_id: str) -> Operation | None:
        """What the acquirer knows of a payout (None: it never reached it)."""

    def status(self, charge_id: str) -> Operation | None:
        """What the acquirer knows of a charge (None: never reached it)."""

    def settlements(self, day: date) -> list[Settlement]:
        """Every charge, refund and payout it settled on ``day`` (UTC), from its own records
        (a real acquirer's settlement report or API)."""


class EWalletProvider(Protocol):
    name: str

    def charge(self, charge_id: str, amount: Money) -> Operation:
        """Starts a payment; the payer approves it on the provider's page (``action_url``)."""

    def complete_action(self, charge_id: str, approved: bool) -> Operation: ...

    def refund(self, refund_id: str, charge_id: str, amount: Money) -> Operation: ...

    def status(self, charge_id: str) -> Operation | None: ...

    def settlements(self, day: date) -> list[Settlement]:
        """Every charge and refund it settled on ``day`` (UTC), from its own records."""
