"""My account → closing it: the data export, the closure, and the wind-down banner."""

from __future__ import annotations

from datetime import datetime

from fastapi import Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine

from amanah.api.deps import get_engine, get_now, get_settings
from amanah.api.routing import Router
from amanah.api.user_auth import STEP_UP, current_full_user, current_user
from amanah.closure import service as closure
from amanah.core import service_mode
from amanah.core.config import Settings
from amanah.core.db import run_in_transaction
from amanah.users import service as users

router = Router(tags=["account"])


class ClosureRequest(BaseModel):
    password: str | None = Field(default=None, max_length=1024, description="The account's password.")
    totp_code: str | None = Field(default=None, max_length=16, description="When two-factor sign-in is on.")
    confirm_email: str | None = Field(
        default=None, max_length=320,
        description="For an account with no password (registered by a marketplace): its e-mail address.")


class ClosureOut(BaseModel):
    id: str
    closed: bool
    closed_at: datetime
    cards_deleted: int


@router.post("/v1/me/close", response_model=ClosureOut,
             responses={409: {"description": "Money is still held or a trade is open (the message says which)"},
                        **STEP_UP},
             summary="Close my account (balance zero, no open trade); works in every service mode")
def close_account(body: ClosureRequest, user=Depends(current_full_user), engine: Engine = Depends(get_engine),
                  settings: Settings = Depends(get_settings), now: datetime = Depends(get_now)) -> dict:
    # First the owner check, committed on its own: a wrong password must count (throttle).
    run_in_transaction(engine, lambda c: users.check_owner(
        c, settings, user.id, password=body.password, confirm_email=body.confirm_email,
        totp_code=body.totp_code, now=now)).unwrap()
    return run_in_transaction(engine, lambda c: closure.close_account(c, user.id, now=now))


class ExportProfile(BaseModel):
    id: str
    email: str
    name: str
    locale: str
    email_verified: bool
    two_factor_enabled: bool
    created_at: datetime


class ExportCard(BaseModel):
    id: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    holder_name: str
    created_at: datetime


class ExportBalance(BaseModel):
    currency: str
    available: int
    held: int


class ExportTrade(BaseModel):
    id: str
    role: str = Field(description="buyer or seller.")
    status: str
    subject: str
    amount: int
    currency: str
    refunded_amount: int
    fee_amount: int
    out_trade_no: str
    created_at: datetime
    completed_at: datetime | None


class ExportOut(BaseModel):
    profile: ExportProfile
    cards: list[ExportCard]
    balances: list[ExportBalance]
    trades: list[ExportTrade]


@router.get("/v1/me/export.json", response_model=ExportOut, summary="Download my data (JSON)")
def export_json(user=Depends(current_user), engine: Engine = Depends(get_engine)) -> dict:
    with engine.connect() as connection:
        return closure.export(connection, user.id)


@router.get("/v1/me/export.csv", response_class=Response, summary="Download my data (CSV, for a spreadsheet)",
            responses={200: {"content": {"text/csv": {}}}})
def export_csv(user=Depends(current_user), engine: Engine = Depends(get_engine)) -> Response:
    with engine.connect() as connection:
        text = closure.export_csv(closure.export(connection, user.id))
    return Response(text, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="amanah-export.csv"'})


class ServiceStatus(BaseModel):
    mode: str
    banner: dict | None = Field(description="While winding down: {mode, since, locale, title, body, still_works, "
                                            "to_do, texts: {locale: {...}}}; null otherwise.")


@router.get("/v1/service-status", response_model=ServiceStatus,
            summary="The service mode and, while winding down, the notice to show (public)")
def service_status(locale: str | None = Query(default=None, max_length=16),
                   engine: Engine = Depends(get_engine)) -> dict:
    with engine.connect() as connection:
        return {"mode": service_mode.current(connection).mode.value,
                "banner": service_mode.banner(connection, locale or "en")}
