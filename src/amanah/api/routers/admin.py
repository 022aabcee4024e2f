"""Operator endpoints: ledger verification, the service mode (wind-down) and the liabilities report."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine

from amanah import ledger
from amanah.api.auth import require_operator
from amanah.api.deps import get_engine, get_now
from amanah.closure import notices
from amanah.core import service_mode
from amanah.core.db import run_in_transaction
from amanah.operators import service as operators
from amanah.reports import liabilities

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


class ServiceModeOut(BaseModel):
    mode: Literal["normal", "wind_down"]
    changed_by: str | None = Field(description='Who set it: "operator:<key id> (<label>)" or "cli".')
    changed_at: datetime | None
    reason: str | None
    wind_down_since: datetime | None = Field(description="When the wind-down under way began.")
    notices_sent: int = Field(description="Users e-mailed the notice of the wind-down under way.")


class ServiceModeChange(BaseModel):
    mode: Literal["normal", "wind_down"]
    reason: str | None = Field(default=None, max_length=500, description="Why; kept in the history.")


def _mode_out(connection) -> dict:
    started = service_mode.wind_down_started(connection)
    return {**service_mode.current(connection).to_dict(),
            "wind_down_since": started.changed_at if started else None,
            "notices_sent": len(notices.notified_user_ids(connection))}


@router.get("/service-mode", response_model=ServiceModeOut, summary="The service mode")
def get_service_mode(engine: Engine = Depends(get_engine)) -> dict:
    with engine.connect() as connection:
        return _mode_out(connection)


@router.put("/service-mode", response_model=ServiceModeOut,
            summary="Wind the service down (closed to new business) or open it again")
def put_service_mode(body: ServiceModeChange, operator: operators.Operator = Depends(require_operator),
                     engine: Engine = Depends(get_engine), now: datetime = Depends(get_now)) -> dict:
    who = f"operator:{operator.key_id} ({operator.label})"

    def work(connection):
        service_mode.set_mode(connection, body.mode, changed_by=who, now=now, reason=body.reason)
        return _mode_out(connection)

    return run_in_transaction(engine, work)


class CurrencyLiabilitiesOut(BaseModel):
    owed_to_users: int = Field(description="Users' balances summed, minor units (includes escrow and "
                                           "withdrawals under way).")
    available: int
    in_escrow: int
    withdrawals_under_way: int
    users_holding_money: int
    open_trades: int
    owed_to_platforms: int = Field(description="Platform fees not yet paid out to the marketplaces.")


class LiabilitiesOut(BaseModel):
    mode: str
    users_settled: bool = Field(description="True when no user holds money and no trade is open.")
    users_holding_money: int
    open_trades: int
    currencies: dict[str, CurrencyLiabilitiesOut]


@router.get("/reports/liabilities", response_model=LiabilitiesOut,
            summary="Per currency: what is still owed to users, in escrow, and how many users hold money")
def get_liabilities(engine: Engine = Depends(get_engine)) -> dict:
    with engine.connect() as connection:
        return liabilities.report(connection).as_dict()
