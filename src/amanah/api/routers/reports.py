"""Operators' reports that need more than one read: the daily reconciliation of the clearing
accounts against the connectors (``reports.reconciliation``), as JSON or CSV."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine

from amanah.api.auth import require_operator
from amanah.api.deps import get_engine, get_now, get_settings
from amanah.api.routing import Router
from amanah.core.config import Settings
from amanah.core.errors import InvalidRequest
from amanah.reports import reconciliation

router = Router(prefix="/v1/admin", tags=["operators"], dependencies=[Depends(require_operator)])


class ReconciliationSide(BaseModel):
    amount: int
    currency: str
    status: Literal["succeeded", "failed"]
    at: datetime
    reference: str = Field(description="The ledger transfer's id, or the connector's own id.")


class ReconciliationLine(BaseModel):
    problem: str = Field(description="missing_at_connector, missing_in_ledger, amount_differs, currency_differs, "
                                     "status_differs, or other_day (a timing difference).")
    operation_id: str = Field(description="The charge, refund or payout (withdrawal) id both sides know.")
    kind: str = Field(description="charge, refund, payout, or unknown.")
    ledger: ReconciliationSide | None
    connector: ReconciliationSide | None


class ReconciliationTotals(BaseModel):
    charges: int
    refunds: int
    payouts: int
    count: int
    net: int = Field(description="charges − refunds − payouts: what the connector owes for the day.")


class ReconciliationAccount(BaseModel):
    account: str
    account_kind: Literal["card_clearing", "ewallet_clearing", "payout_clearing"]
    connector: str
    ok: bool
    matched: int
    totals: dict[str, ReconciliationTotals] = Field(description="Matched, succeeded operations per currency.")
    mismatches: list[ReconciliationLine]
    timing_differences: list[ReconciliationLine]


class ReconciliationReport(BaseModel):
    date: str
    ok: bool
    mismatches: int
    accounts: list[ReconciliationAccount]


@router.get("/reports/reconciliation", response_model=ReconciliationReport,
            summary="The day's reconciliation of every clearing account against its connector (JSON or CSV)",
            responses={200: {"content": {"text/csv": {}},
                             "description": "JSON, or with format=csv every operation of the day, one per line."}})
def get_reconciliation(date: str | None = Query(None, description="The day, YYYY-MM-DD (UTC)."),
                       format: str = Query("json", description="json or csv."),
                       engine: Engine = Depends(get_engine), settings: Settings = Depends(get_settings),
                       now: datetime = Depends(get_now)):
    if format not in ("json", "csv"):
        raise InvalidRequest('The format must be "json" or "csv".', code="invalid_format", param="format")
    day = reconciliation.parse_day(date, today=now.date())
    report = reconciliation.reconcile(engine, settings, day)
    if format == "csv":
        return Response(reconciliation.to_csv(report), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="reconciliation-{day.isoformat()}.csv"'})
    return report.as_dict()
