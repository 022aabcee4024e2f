"""Balances per currency, straight from the ledger's wallet accounts."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Connection

from amanah.wallet.service.common import wallet_accounts


@dataclass(frozen=True)
class Balance:
    currency: str
    available: int
    """What can be spent or withdrawn now: posted credits less posted and pending debits."""
    held: int
    """Money in escrow as buyer (pending debits: paid, not yet released), as seller (pending
    credits: sold, not yet released) and withdrawals under way (pending debits too)."""

    def to_dict(self) -> dict:
        return {"currency": self.currency, "available": self.available, "held": self.held}


def balances(connection: Connection, user_id: str) -> list[Balance]:
    """One line per currency the user has a wallet in, in currency-code order."""
    return [Balance(account.currency, account.available, account.debits_pending + account.credits_pending)
            for account in wallet_accounts(connection, user_id)]
