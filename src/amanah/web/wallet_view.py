"""Balances for the cabinet: the wallet service's when it is installed; until then read straight
from the ledger's wallet accounts (available, and held = escrow in or out)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from amanah.money import CURRENCIES


@dataclass(frozen=True)
class Balance:
    currency: str
    available: int
    held: int


def balances(engine: Engine, user_id: str) -> list[Balance]:
    """Every currency the user has money in (or has had), in the screens' currency order."""
    try:
        from amanah.wallet import service as wallet
    except ImportError:
        wallet = None
    if wallet is not None and hasattr(wallet, "balances"):
        with engine.connect() as connection:
            found = wallet.balances(connection, user_id)
        return [Balance(_get(b, "currency"), _get(b, "available"), _get(b, "held")) for b in found]
    from amanah.ledger import AccountKind
    from amanah.ledger.sql import find_account

    shown = []
    with engine.connect() as connection:
        for code in CURRENCIES:
            account = find_account(connection, AccountKind.USER_WALLET, user_id, code)
            if account is not None and (account.credits_posted or account.debits_posted or account.credits_pending
                                        or account.debits_pending):
                shown.append(Balance(code, account.available, account.debits_pending + account.credits_pending))
    return shown


def _get(item, name: str):
    value = item[name] if isinstance(item, dict) else getattr(item, name)
    return getattr(value, "code", value)


def available_in(engine: Engine, user_id: str, code: str) -> int:
    return next((b.available for b in balances(engine, user_id) if b.currency == code), 0)
