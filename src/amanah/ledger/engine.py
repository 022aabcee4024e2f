"""Applies a batch of transfer requests to account balances in memory: pure logic, no I/O.

``service.create_transfers`` loads (and locks) what a batch touches, hands it to ``apply_batch``
and writes back what it returns: the new transfers and, per account, one change of each of
the four balances. A failing transfer fails alone unless it is linked, in which case its whole
chain is undone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from amanah.core import limits
from amanah.ledger.types import (
    RESOLVING_KINDS,
    Account,
    Transfer,
    TransferKind,
    TransferOutcome,
    TransferRequest,
    TransferResult as R,
)

_ID_PATTERN = re.compile(r"[A-Za-z0-9_.:\-]{1,%d}" % limits.TRANSFER_ID_LENGTH_MAX)
_CODE_PATTERN = re.compile(r"[a-z0-9_.]{1,%d}" % limits.TRANSFER_CODE_LENGTH_MAX)
_RESOLVED_BY = {
    TransferKind.POST_PENDING: R.PENDING_TRANSFER_ALREADY_POSTED,
    TransferKind.VOID_PENDING: R.PENDING_TRANSFER_ALREADY_VOIDED,
    TransferKind.EXPIRE_PENDING: R.PENDING_TRANSFER_EXPIRED,
}


@dataclass(slots=True)
class Balances:
    """One account's four balances while a batch is applied."""

    account: Account
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int

    @classmethod
    def of(cls, account: Account) -> "Balances":
        return cls(account, account.debits_posted, account.credits_posted,
                   account.debits_pending, account.credits_pending)

    def snapshot(self) -> tuple[int, int, int, int]:
        return (self.debits_posted, self.credits_posted, self.debits_pending, self.credits_pending)

    def restore(self, values: tuple[int, int, int, int]) -> None:
        self.debits_posted, self.credits_posted, self.debits_pending, self.credits_pending = values

    def debits_exceed_credits(self) -> bool:
        return (self.account.debits_must_not_exceed_credits
                and self.debits_posted + self.debits_pending > self.credits_posted)

    def credits_exceed_debits(self) -> bool:
        return (self.account.credits_must_not_exceed_debits
                and self.credits_posted + self.credits_pending > self.debits_posted)

    def assert_invariants(self) -> None:
        assert min(self.snapshot()) >= 0, f"negative balance on account {self.account.id}"
        assert not self.debits_exceed_credits(), f"account {self.account.id} overdrawn"
        assert not self.credits_exceed_debits(), f"account {self.account.id} over-credited"


@dataclass(slots=True)
class BatchState:
    """What a batch can see: locked accounts, transfers already stored with the batch's ids,
    the pending transfers it refers to and how each was resolved (if it was)."""

    now: datetime
    balances: dict[int, Balances]
    existing: dict[str, Transfer]
    pendings: dict[str, Transfer]
    resolutions: dict[str, TransferKind]
    created: dict[str, Transfer] = field(default_factory=dict)
    """Transfers this batch made, by id, in order."""


def apply_batch(state: BatchState, requests: list[TransferRequest]) -> list[TransferOutcome]:
    """Applies ``requests`` in order, chain by chain; fills ``state.created``."""
    outcomes: list[TransferOutcome] = []
    chain: list[TransferRequest] = []
    for index, request in enumerate(requests):
        chain.append(request)
        if request.linked and index < len(requests) - 1:
            continue
        outcomes.extend(_apply_chain(state, chain))
        chain = []
    for balances in state.balances.values():
        balances.assert_invariants()
    return outcomes


def _apply_chain(state: BatchState, chain: list[TransferRequest]) -> list[TransferOutcome]:
    if chain[-1].linked:  # the batch ended inside a chain: apply none of it
        failed = TransferOutcome(R.LINKED_EVENT_FAILED, None)
        return [failed] * (len(chain) - 1) + [TransferOutcome(R.LINKED_EVENT_CHAIN_OPEN, None)]
    saved = {account_id: b.snapshot() for account_id, b in state.balances.items()} if len(chain) > 1 else {}
    created_before = len(state.created)
    resolutions_before = dict(state.resolutions) if len(chain) > 1 else {}
    outcomes: list[TransferOutcome] = []
    for request in chain:
        outcome = _apply_one(state, request)
        outcomes.append(outcome)
        if not outcome.result.succeeded:
            break
    failed = next((i for i, o in enumerate(outcomes) if not o.result.succeeded), None)
    if failed is None:
        return outcomes
    # Undo the whole chain: every other member reports linked_event_failed.
    for account_id, values in saved.items():
        state.balances[account_id].restore(values)
    for transfer_id in list(state.created)[created_before:]:
        del state.created[transfer_id]
        state.pendings.pop(transfer_id, None)
    if len(chain) > 1:
        state.resolutions.clear()
        state.resolutions.update(resolutions_before)
    return [
        outcomes[i] if i == failed else TransferOutcome(R.LINKED_EVENT_FAILED, None)
        for i in range(len(chain))
    ]


def _apply_one(state: BatchState, request: TransferRequest) -> TransferOutcome:
    error = check_fields(request)
    if error:
        return TransferOutcome(error, None)
    previous = state.existing.get(request.id) or state.created.get(request.id)
    if previous is not None:
        same = _same_fields(request, previous, state.pendings.get(request.pending_id or ""))
        return TransferOutcome(R.EXISTS if same else R.ID_ALREADY_EXISTS, previous if same else None)
    if request.kind in RESOLVING_KINDS:
        return _resolve_pending(state, request)
    return _create_new(state, request)


def check_fields(request: TransferRequest) -> R | None:
    """The first refusal a request earns by its own fields alone, or None."""
    if not _ID_PATTERN.fullmatch(request.id):
        return R.ID_INVALID
    if not _CODE_PATTERN.fullmatch(request.code):
        return R.CODE_INVALID
    if request.reference is not None and not 0 < len(request.reference) <= limits.TRANSFER_REFERENCE_LENGTH_MAX:
        return R.REFERENCE_INVALID
    if request.amount is not None and (
        type(request.amount) is not int or not 0 < request.amount <= limits.AMOUNT_MAX_MINOR
    ):
        return R.AMOUNT_INVALID
    if request.kind in RESOLVING_KINDS:
        return None if request.pending_id else R.PENDING_ID_MISSING
    if request.amount is None:
        return R.AMOUNT_INVALID
    if request.timeout_s is not None and (
        request.kind is not TransferKind.PENDING
        or type(request.timeout_s) is not int
        or not 0 < request.timeout_s <= limits.PENDING_TIMEOUT_MAX_S
    ):
        return R.TIMEOUT_INVALID
    return None


def _same_fields(request: TransferRequest, stored: Transfer, pending: Transfer | None) -> bool:
    amount = request.amount
    if amount is None and request.kind is TransferKind.VOID_PENDING and pending is not None:
        amount = pending.amount
    if amount is None and request.kind is TransferKind.POST_PENDING and pending is not None:
        amount = pending.amount
    return (
        request.kind == stored.kind
        and amount == stored.amount
        and request.debit_account_id in (None, stored.debit_account_id)
        and request.credit_account_id in (None, stored.credit_account_id)
        and request.pending_id == stored.pending_id
        and request.timeout_s == stored.timeout_s
        and request.code == stored.code
        and request.reference == stored.reference
    )


def _create_new(state: BatchState, request: TransferRequest) -> TransferOutcome:
    debit = state.balances.get(request.debit_account_id or 0)
    credit = state.balances.get(request.credit_account_id or 0)
    if debit is None:
        return TransferOutcome(R.DEBIT_ACCOUNT_NOT_FOUND, None)
    if credit is None:
        return TransferOutcome(R.CREDIT_ACCOUNT_NOT_FOUND, None)
    if debit is credit:
        return TransferOutcome(R.ACCOUNTS_MUST_BE_DIFFERENT, None)
    if debit.account.currency != credit.account.currency:
        return TransferOutcome(R.CURRENCY_MISMATCH, None)
    amount = request.amount
    assert amount is not None
    if request.kind is TransferKind.PENDING:
        result = _move(debit, credit, pending_delta=amount)
    else:
        result = _move(debit, credit, posted_delta=amount)
    if result is not R.OK:
        return TransferOutcome(result, None)
    expires_at = None
    if request.timeout_s is not None:
        expires_at = state.now + timedelta(seconds=request.timeout_s)
    transfer = Transfer(
        request.id, request.kind, debit.account.id, credit.account.id, debit.account.currency,
        amount, None, request.timeout_s, expires_at, request.code, request.reference, state.now,
    )
    state.created[transfer.id] = transfer
    if request.kind is TransferKind.PENDING:
        state.pendings[transfer.id] = transfer
    return TransferOutcome(R.OK, transfer)


def _resolve_pending(state: BatchState, request: TransferRequest) -> TransferOutcome:
    pending = state.pendings.get(request.pending_id or "")
    if pending is None:
        return TransferOutcome(R.PENDING_TRANSFER_NOT_FOUND, None)
    if pending.kind is not TransferKind.PENDING:
        return TransferOutcome(R.PENDING_TRANSFER_NOT_PENDING, None)
    if request.debit_account_id not in (None, pending.debit_account_id) or (
        request.credit_account_id not in (None, pending.credit_account_id)
    ):
        return TransferOutcome(R.PENDING_TRANSFER_HAS_DIFFERENT_ACCOUNTS, None)
    resolved_by = state.resolutions.get(pending.id)
    if resolved_by is not None:
        return TransferOutcome(_RESOLVED_BY[resolved_by], None)
    expired = pending.expires_at is not None and pending.expires_at <= state.now
    if request.kind is TransferKind.EXPIRE_PENDING and not expired:
        return TransferOutcome(R.PENDING_TRANSFER_NOT_EXPIRED, None)
    if request.kind is not TransferKind.EXPIRE_PENDING and expired:
        return TransferOutcome(R.PENDING_TRANSFER_EXPIRED, None)
    amount = pending.amount
    if request.kind is TransferKind.POST_PENDING and request.amount is not None:
        amount = request.amount
    elif request.amount is not None and request.amount != pending.amount:
        return TransferOutcome(R.AMOUNT_INVALID, None)
    if amount > pending.amount:
        return TransferOutcome(R.EXCEEDS_PENDING_TRANSFER_AMOUNT, None)
    debit = state.balances[pending.debit_account_id]
    credit = state.balances[pending.credit_account_id]
    posted = amount if request.kind is TransferKind.POST_PENDING else 0
    result = _move(debit, credit, pending_delta=-pending.amount, posted_delta=posted)
    assert result is R.OK, "releasing a hold can never break an account's limits"
    transfer = Transfer(
        request.id, request.kind, pending.debit_account_id, pending.credit_account_id,
        pending.currency, amount, pending.id, None, None, request.code, request.reference, state.now,
    )
    state.created[transfer.id] = transfer
    state.resolutions[pending.id] = request.kind
    return TransferOutcome(R.OK, transfer)


def _move(debit: Balances, credit: Balances, *, pending_delta: int = 0, posted_delta: int = 0) -> R:
    """Adds the deltas to both sides, or leaves both untouched and says which limit broke."""
    debit_before, credit_before = debit.snapshot(), credit.snapshot()
    debit.debits_pending += pending_delta
    debit.debits_posted += posted_delta
    credit.credits_pending += pending_delta
    credit.credits_posted += posted_delta
    if debit.debits_exceed_credits():
        result = R.EXCEEDS_CREDITS
    elif credit.credits_exceed_debits():
        result = R.EXCEEDS_DEBITS
    else:
        return R.OK
    debit.restore(debit_before)
    credit.restore(credit_before)
    return result
