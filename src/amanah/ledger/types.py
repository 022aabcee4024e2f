"""The ledger's vocabulary: account kinds and flags, transfer kinds, requests and results."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class AccountKind(enum.StrEnum):
    """What an account is for. A user's or the system's money, or the world outside."""

    USER_WALLET = "user_wallet"
    """A buyer's or seller's balance in one currency; never negative."""
    ESCROW = "escrow"
    """Money held for trades until released or refunded; never negative."""
    PLATFORM_FEES = "platform_fees"
    """A platform's fee revenue; never negative."""
    FX_LIQUIDITY = "fx_liquidity"
    """The system's position in one currency for conversions; may go either way."""
    FX_REVENUE = "fx_revenue"
    """The spread earned on conversions; never negative."""
    CARD_CLEARING = "card_clearing"
    """Money owed by or to the card acquirer (the world outside); may go either way."""
    EWALLET_CLEARING = "ewallet_clearing"
    """Money owed by or to e-wallet providers; may go either way."""
    PAYOUT_CLEARING = "payout_clearing"
    """Money paid out to cards and banks; may go either way."""


CREDIT_NORMAL_KINDS = frozenset(
    {AccountKind.USER_WALLET, AccountKind.ESCROW, AccountKind.PLATFORM_FEES, AccountKind.FX_REVENUE}
)
"""Kinds that hold money owed to someone: their debits must not exceed their credits."""

AccountKey = tuple[AccountKind, str, str]
"""An account's natural key: its kind, owner and currency (one account per key)."""


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    currency: str
    kind: AccountKind
    owner_ref: str
    debits_must_not_exceed_credits: bool
    credits_must_not_exceed_debits: bool
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int

    @property
    def available(self) -> int:
        """For a credit-normal account: what may be spent now (posted less outgoing holds)."""
        return self.credits_posted - self.debits_posted - self.debits_pending

    @property
    def incoming_pending(self) -> int:
        """Money on its way in, held (escrow as seller, for instance)."""
        return self.credits_pending


class TransferKind(enum.StrEnum):
    DIRECT = "direct"
    """Posted at once."""
    PENDING = "pending"
    """A hold: reserves the amount on both accounts until posted, voided or expired."""
    POST_PENDING = "post_pending"
    """Posts a hold, all or part; the rest returns to the debit account."""
    VOID_PENDING = "void_pending"
    """Cancels a hold; everything returns."""
    EXPIRE_PENDING = "expire_pending"
    """Cancels a hold whose timeout passed (only the expiry job makes these)."""


RESOLVING_KINDS = frozenset(
    {TransferKind.POST_PENDING, TransferKind.VOID_PENDING, TransferKind.EXPIRE_PENDING}
)


@dataclass(frozen=True, slots=True)
class TransferRequest:
    """One transfer asked of the ledger. ``linked`` joins it to the next one: a chain of linked
    transfers (ending at the first one not linked) is applied all or nothing.

    For a post or void, the accounts may be omitted (they are the pending transfer's) and a
    post's amount may be omitted (the whole hold)."""

    id: str
    kind: TransferKind
    code: str
    amount: int | None = None
    debit_account_id: int | None = None
    credit_account_id: int | None = None
    pending_id: str | None = None
    timeout_s: int | None = None
    reference: str | None = None
    linked: bool = False

    @classmethod
    def direct(cls, id: str, *, debit: int, credit: int, amount: int, code: str,
               reference: str | None = None, linked: bool = False) -> "TransferRequest":
        return cls(id, TransferKind.DIRECT, code, amount, debit, credit, None, None, reference, linked)

    @classmethod
    def pending(cls, id: str, *, debit: int, credit: int, amount: int, code: str,
                timeout_s: int | None = None, reference: str | None = None,
                linked: bool = False) -> "TransferRequest":
        return cls(id, TransferKind.PENDING, code, amount, debit, credit, None, timeout_s, reference, linked)

    @classmethod
    def post(cls, id: str, *, pending_id: str, code: str, amount: int | None = None,
             reference: str | None = None, linked: bool = False) -> "TransferRequest":
        return cls(id, TransferKind.POST_PENDING, code, amount, None, None, pending_id, None, reference, linked)

    @classmethod
    def void(cls, id: str, *, pending_id: str, code: str, reference: str | None = None,
             linked: bool = False) -> "TransferRequest":
        return cls(id, TransferKind.VOID_PENDING, code, None, None, None, pending_id, None, reference, linked)


@dataclass(frozen=True, slots=True)
class Transfer:
    """A transfer as stored: immutable."""

    id: str
    kind: TransferKind
    debit_account_id: int
    credit_account_id: int
    currency: str
    amount: int
    pending_id: str | None
    timeout_s: int | None
    expires_at: datetime | None
    code: str
    reference: str | None
    created_at: datetime
    seq: int | None = None


class TransferResult(enum.StrEnum):
    """The outcome of one transfer request. ``OK`` and ``EXISTS`` are successes."""

    OK = "ok"
    EXISTS = "exists"
    """The same id with the same fields was applied before; nothing happened again."""
    ID_ALREADY_EXISTS = "id_already_exists"
    """The id was used before for a transfer with different fields."""
    ID_INVALID = "id_invalid"
    CODE_INVALID = "code_invalid"
    REFERENCE_INVALID = "reference_invalid"
    LINKED_EVENT_FAILED = "linked_event_failed"
    LINKED_EVENT_CHAIN_OPEN = "linked_event_chain_open"
    AMOUNT_INVALID = "amount_invalid"
    ACCOUNTS_MUST_BE_DIFFERENT = "accounts_must_be_different"
    DEBIT_ACCOUNT_NOT_FOUND = "debit_account_not_found"
    CREDIT_ACCOUNT_NOT_FOUND = "credit_account_not_found"
    CURRENCY_MISMATCH = "currency_mismatch"
    TIMEOUT_INVALID = "timeout_invalid"
    EXCEEDS_CREDITS = "exceeds_credits"
    EXCEEDS_DEBITS = "exceeds_debits"
    PENDING_ID_MISSING = "pending_id_missing"
    PENDING_TRANSFER_NOT_FOUND = "pending_transfer_not_found"
    PENDING_TRANSFER_NOT_PENDING = "pending_transfer_not_pending"
    PENDING_TRANSFER_HAS_DIFFERENT_ACCOUNTS = "pending_transfer_has_different_accounts"
    PENDING_TRANSFER_ALREADY_POSTED = "pending_transfer_already_posted"
    PENDING_TRANSFER_ALREADY_VOIDED = "pending_transfer_already_voided"
    PENDING_TRANSFER_EXPIRED = "pending_transfer_expired"
    PENDING_TRANSFER_NOT_EXPIRED = "pending_transfer_not_expired"
    EXCEEDS_PENDING_TRANSFER_AMOUNT = "exceeds_pending_transfer_amount"

    @property
    def succeeded(self) -> bool:
        return self in (TransferResult.OK, TransferResult.EXISTS)


@dataclass(frozen=True, slots=True)
class TransferOutcome:
    result: TransferResult
    transfer: Transfer | None
    """The stored transfer when the result is a success (the earlier one for ``EXISTS``)."""
