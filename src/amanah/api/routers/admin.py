"""Operator endpoints: ledger verification (service mode and reports arrive with their issues)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from sqlalchemy.engine import Engine

from amanah import ledger
from amanah.api.auth import require_operator
from amanah.api.deps import get_engine

router = APIRouter(prefix="/v1/admin", tags=["operators"], dependencies=[Depends(require_operator)])


class CurrencyTotals(BaseModel):
    debits: int
    credits: int
    debits_pending: int
    credits_pending: int


class LedgerVerification(BaseModel):
    ok: bool
    checked_transfers: int
    checked_accounts: int
    currencies: dict[str, CurrencyTotals]
    violations: list[str]
    violations_total: int


@router.get("/ledger/verify", response_model=LedgerVerification,
            summary="Recompute every balance from the journal and check the double-entry invariants")
def verify_ledger(engine: Engine = Depends(get_engine)) -> dict:
    with engine.connect() as connection:
        return ledger.verify(connection).as_dict()
