"""Wallet errors: each says what the limit is and what is left, so the person can act on it."""

from __future__ import annotations

from amanah.core.errors import InvalidRequest


class WithdrawalLimitExceeded(InvalidRequest):
    """A withdrawal above the per-transaction or the daily limit (400; nothing moved)."""

    code = "withdrawal_limit_exceeded"


class InvalidHistoryFilter(InvalidRequest):
    code = "invalid_history_filter"
