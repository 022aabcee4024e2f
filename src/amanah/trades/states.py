"""The trade's state machine: one enum, one transition table, one function that moves."""

from __future__ import annotations

import enum

from amanah.core.errors import Conflict


class TradeStatus(enum.StrEnum):
    AWAITING_PAYMENT = "awaiting_payment"
    """Created by the platform; nothing has moved yet."""
    HELD = "held"
    """Paid: the money is a pending ledger transfer from the buyer to the seller (escrow)."""
    SHIPPED = "shipped"
    """The seller shipped; the protection timer runs until ``release_at``."""
    DISPUTED = "disputed"
    """The buyer opened a dispute: the timer stopped, nothing is released until the platform
    resolves it."""
    COMPLETED = "completed"
    """Released to the seller, less the platform's fee (by the buyer, the timer or a dispute)."""
    REFUNDED = "refunded"
    """Everything that was paid went back to the buyer."""
    CLOSED = "closed"
    """Never paid: cancelled by the platform or expired."""


S = TradeStatus
TRANSITIONS: dict[TradeStatus, frozenset[TradeStatus]] = {
    S.AWAITING_PAYMENT: frozenset({S.HELD, S.CLOSED}),
    S.HELD: frozenset({S.SHIPPED, S.COMPLETED, S.REFUNDED, S.DISPUTED}),
    S.SHIPPED: frozenset({S.COMPLETED, S.REFUNDED, S.DISPUTED}),
    S.DISPUTED: frozenset({S.COMPLETED, S.REFUNDED}),
    S.COMPLETED: frozenset({S.REFUNDED}),
    S.REFUNDED: frozenset(),
    S.CLOSED: frozenset(),
}
ESCROW_STATES = frozenset({S.HELD, S.SHIPPED, S.DISPUTED})
"""States in which the money is still in escrow."""


def check_transition(current: TradeStatus, target: TradeStatus, action: str) -> None:
    """Refuses an illegal move with a 409 a person understands."""
    if target not in TRANSITIONS[current]:
        raise Conflict(f"A trade that is {current.value.replace('_', ' ')} cannot be {action}.",
                       code="trade_status_conflict")
