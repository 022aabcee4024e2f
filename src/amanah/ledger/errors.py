"""How a refused transfer reaches a caller of ``create_transfer``."""

from __future__ import annotations

from amanah.core.errors import AppError, Conflict, InsufficientFunds, InvalidRequest
from amanah.ledger.types import TransferResult as R

_MESSAGES = {
    R.EXCEEDS_CREDITS: "The balance is too low for this payment; nothing was charged.",
    R.ID_ALREADY_EXISTS: "This transfer id was already used for a different transfer.",
    R.PENDING_TRANSFER_ALREADY_POSTED: "This hold was already released.",
    R.PENDING_TRANSFER_ALREADY_VOIDED: "This hold was already cancelled.",
    R.PENDING_TRANSFER_EXPIRED: "This hold has expired.",
    R.EXCEEDS_PENDING_TRANSFER_AMOUNT: "The amount is more than the money held.",
}
_CONFLICTS = {
    R.ID_ALREADY_EXISTS,
    R.PENDING_TRANSFER_ALREADY_POSTED,
    R.PENDING_TRANSFER_ALREADY_VOIDED,
    R.PENDING_TRANSFER_EXPIRED,
    R.PENDING_TRANSFER_NOT_EXPIRED,
}


def transfer_refused(result: R) -> AppError:
    """The error for a transfer the ledger refused."""
    assert not result.succeeded
    message = _MESSAGES.get(result, f"The ledger refused the transfer ({result.value}).")
    if result is R.EXCEEDS_CREDITS:
        return InsufficientFunds(message)
    if result in _CONFLICTS:
        return Conflict(message, code=result.value)
    return InvalidRequest(message, code=result.value)
