from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

import pytest
from sqlalchemy.engine import Engine

from amanah import ledger
from amanah.core.db import run_in_transaction
from amanah.ledger import AccountKind, TransferRequest


@dataclass
class Books:
    """A small set of accounts of this test's own, and short-hands to move money between them."""

    engine: Engine
    now: datetime

    def open(self, kind: AccountKind, currency: str = "USD", owner: str | None = None) -> ledger.Account:
        owner = owner or f"test_{secrets.token_hex(6)}"
        return run_in_transaction(
            self.engine,
            lambda c: ledger.open_account(c, kind=kind, owner_ref=owner, currency=currency, now=self.now),
        )

    def account(self, account_id: int) -> ledger.Account:
        return run_in_transaction(self.engine, lambda c: ledger.get_account(c, account_id))

    def submit(self, *requests: TransferRequest, now: datetime | None = None) -> list[ledger.TransferOutcome]:
        return run_in_transaction(
            self.engine, lambda c: ledger.create_transfers(c, list(requests), now=now or self.now)
        )

    def results(self, *requests: TransferRequest, now: datetime | None = None) -> list[str]:
        return [o.result.value for o in self.submit(*requests, now=now)]


def new_id(label: str = "t") -> str:
    return f"{label}_{secrets.token_hex(8)}"


@pytest.fixture
def books(engine: Engine, now: datetime) -> Books:
    return Books(engine, now)
