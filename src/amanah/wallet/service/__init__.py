"""Wallet use cases: balances, top-ups, withdrawals and the payment history (with its CSV).

Functions taking a ``Connection`` run in the caller's transaction; those taking an ``Engine``
call a connector and own their transactions (no lock is held while the outside world answers)."""

from amanah.wallet.service.balances import Balance, balances
from amanah.wallet.service.history import HistoryFilter, HistoryLine, TYPES, iterate, page, parse_types
from amanah.wallet.service.history_csv import csv_chunks
from amanah.wallet.service.topups import TopupRequest, get_topup, start_topup
from amanah.wallet.service.withdrawals import daily_max, get_withdrawal, per_transaction_max, withdraw

__all__ = [
    "Balance", "HistoryFilter", "HistoryLine", "TYPES", "TopupRequest", "balances", "csv_chunks", "daily_max",
    "get_topup", "get_withdrawal", "iterate", "page", "parse_types", "per_transaction_max", "start_topup",
    "withdraw",
]
