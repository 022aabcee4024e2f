"""Balances for the cabinet, from the wallet service."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from amanah.wallet import service as wallet
from amanah.wallet.service.balances import Balance


def balances(engine: Engine, user_id: str) -> list[Balance]:
    """Every currency the user has money in (or has had), in the screens' currency order."""
    with engine.connect() as connection:
        return wallet.balances(connection, user_id)


def available_in(engine: Engine, user_id: str, code: str) -> int:
    return next((b.available for b in balances(engine, user_id) if b.currency == code), 0)
