"""Operator endpoints: ledger verification, the service mode (wind-down), platforms' fee limits,
keys (rotate, revoke) and disabling,
the liabilities report and the audit log. Every state-changing call goes through ``backoffice.actions``, which writes
its audit row in the same transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine

from amanah import ledger
from amanah.api.auth import require_operator
from amanah.api.deps import get_engine, get_now, get_settings
from amanah.api.routing import Router
from amanah.api.user_auth import client_address
from amanah.backoffice import actions
from amanah.closure import notices
from amanah.core import limits, service_mode
from amanah.core.config import Settings
from amanah.core.db import run_in_transaction
from amanah.operators import service as operators
from amanah.platforms import service as platforms
from amanah.reports import liabilities

router = Router(prefix="/v1/admin", tags=["operators"], dependencies=[Depends(require_operator)])


def audit_context(request: Request, operator: operators.Operator = Depends(require_operator),
                  settings: Settings = Depends(get_settings)) -> operators.AuditContext:
    """The calling key, this request's id and the client's address, for the audit log."""
    from amanah.api.observability import request_id

    return operators.AuditContext(operators.actor_for_key(operator), request_id.get(),
                                  client_address(request, settings))


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
    changed_by: str | None = Field(description='Who set it: "operator:<key id> (<label>)", '
                                     '"backoffice:<operator id> (<e-mail>)" or "cli".')
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
def put_service_mode(body: ServiceModeChange, context: operators.AuditContext = Depends(audit_context),
                     engine: Engine = Depends(get_engine), now: datetime = Depends(get_now)) -> dict:
    def work(connection):
        actions.set_service_mode(connection, context, mode=body.mode, reason=body.reason, now=now)  # audited
        return _mode_out(connection)

    return run_in_transaction(engine, work)


class FeeLimitChange(BaseModel):
    bps_max: int = Field(ge=0, le=limits.PLATFORM_FEE_BPS_MAX_CEILING,
                         description="The most the platform may take of a trade, in basis points (3000 = 30%).")


class FeeLimitOut(BaseModel):
    platform_id: str
    bps_max: int = Field(description="New trades whose fee is above it are refused with 400 fee_too_high; a fixed "
                                     "fee counts as its share of the trade's amount.")


@router.put("/platforms/{platform_id}/fee-limit", response_model=FeeLimitOut,
            summary="Set the most a platform may take of a trade (audited)")
def put_fee_limit(platform_id: str, body: FeeLimitChange, context: operators.AuditContext = Depends(audit_context),
                  engine: Engine = Depends(get_engine), now: datetime = Depends(get_now)) -> dict:
    bps_max = run_in_transaction(engine, lambda connection: actions.set_platform_fee_limit(
        connection, context, platform_id, bps_max=body.bps_max, now=now))  # audited
    return {"platform_id": platform_id, "bps_max": bps_max}


class KeyRotation(BaseModel):
    grace_s: int = Field(default=limits.PLATFORM_KEY_GRACE_S_DEFAULT, ge=0, le=limits.PLATFORM_KEY_GRACE_S_MAX,
                         strict=True,
                         description="How long the platform's other keys keep working, in seconds (0: they stop at "
                                     "once). A key already ending sooner keeps its earlier end.")


class PlatformKeyOut(BaseModel):
    id: str = Field(description="The key's id (pk_…): name it to revoke the key. It is not the secret.")
    platform_id: str
    last4: str | None = Field(description="The secret's last four characters (unknown for keys made before "
                                          "rotation existed).")
    created_at: datetime
    expires_at: datetime | None = Field(description="When a rotation's grace period ends the key; null: no end.")
    revoked_at: datetime | None
    status: Literal["active", "expiring", "expired", "revoked"] = Field(
        description="active and expiring keys work; expired and revoked ones are refused with 401.")


class NewPlatformKeyOut(PlatformKeyOut):
    secret: str = Field(description="The new secret key `sk_…`: shown in this answer only (just its hash is kept).")


class PlatformKeyPage(BaseModel):
    data: list[PlatformKeyOut]
    has_more: bool


class PlatformOut(BaseModel):
    id: str
    name: str
    created_at: datetime
    disabled_at: datetime | None = Field(description="Set while the platform is disabled: every key of it is "
                                                     "refused with 401.")
    fee_bps_max: int


@router.post("/platforms/{platform_id}/keys", response_model=NewPlatformKeyOut, status_code=201,
             summary="Rotate a platform's secret key: a new key, shown once; the others end after a grace period "
                     "(audited)")
def post_platform_key(platform_id: str, body: KeyRotation | None = None,
                      context: operators.AuditContext = Depends(audit_context),
                      engine: Engine = Depends(get_engine), now: datetime = Depends(get_now)) -> dict:
    grace_s = body.grace_s if body is not None else limits.PLATFORM_KEY_GRACE_S_DEFAULT
    made, secret = run_in_transaction(engine, lambda connection: actions.rotate_platform_key(
        connection, context, platform_id, grace_s=grace_s, now=now))  # audited
    return {**made.to_dict(), "secret": secret}


@router.get("/platforms/{platform_id}/keys", response_model=PlatformKeyPage,
            summary="A platform's keys, newest first (never their secrets)")
def get_platform_keys(platform_id: str, limit: int = Query(limits.PAGE_LIMIT_DEFAULT, ge=1, le=limits.PAGE_LIMIT_MAX),
                      starting_after: str | None = Query(None, max_length=64),
                      engine: Engine = Depends(get_engine), now: datetime = Depends(get_now)) -> dict:
    with engine.connect() as connection:
        platforms.platform_state(connection, platform_id)  # an unknown platform is a 404
        found, more = platforms.list_keys(connection, platform_id, now=now, limit=limit,
                                          starting_after=starting_after)
    return {"data": [key.to_dict() for key in found], "has_more": more}


@router.delete("/platforms/{platform_id}/keys/{key_id}", response_model=PlatformKeyOut,
               summary="Revoke one of a platform's keys at once (audited)")
def delete_platform_key(platform_id: str, key_id: str, context: operators.AuditContext = Depends(audit_context),
                        engine: Engine = Depends(get_engine), now: datetime = Depends(get_now)) -> dict:
    return run_in_transaction(engine, lambda connection: actions.revoke_platform_key(
        connection, context, platform_id, key_id, now=now)).to_dict()  # audited


def _set_disabled(platform_id: str, disabled: bool, context, engine, now) -> dict:
    return run_in_transaction(engine, lambda connection: actions.set_platform_disabled(
        connection, context, platform_id, disabled=disabled, now=now)).to_dict()  # audited


@router.post("/platforms/{platform_id}/disable", response_model=PlatformOut,
             summary="Disable a platform: every key of it is refused with 401 until it is enabled (audited)")
def disable_platform(platform_id: str, context: operators.AuditContext = Depends(audit_context),
                     engine: Engine = Depends(get_engine), now: datetime = Depends(get_now)) -> dict:
    return _set_disabled(platform_id, True, context, engine, now)


@router.post("/platforms/{platform_id}/enable", response_model=PlatformOut,
             summary="Enable a disabled platform again: its keys that are not revoked or expired work (audited)")
def enable_platform(platform_id: str, context: operators.AuditContext = Depends(audit_context),
                    engine: Engine = Depends(get_engine), now: datetime = Depends(get_now)) -> dict:
    return _set_disabled(platform_id, False, context, engine, now)


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


class AuditEntryOut(BaseModel):
    id: str
    at: datetime
    actor_type: Literal["account", "api_key", "cli"] = Field(
        description="account: an operator signed in to the back office; api_key: an operator key; "
                    "cli: the `amanah` command on the server.")
    actor_id: str = Field(description="The operator account (opr_…), the key (adk_…) or the system user.")
    actor_label: str = Field(description="The account's e-mail, the key's label, or the command line.")
    action: str = Field(description='What was done, e.g. "service_mode.set", "dispute.resolve", "fx.rate.set".')
    target_type: str | None
    target_id: str | None
    before: dict | list | None = Field(description="The state before (JSON), where there was one.")
    after: dict | list | None = Field(description="The state after (JSON).")
    request_id: str | None
    client_address: str | None


class AuditLogPage(BaseModel):
    data: list[AuditEntryOut]
    has_more: bool


@router.get("/audit-log", response_model=AuditLogPage,
            summary="Every operator action, newest first (the log cannot be edited)")
def get_audit_log(
    operator: str | None = Query(None, max_length=limits.AUDIT_LABEL_LENGTH_MAX,
                                 description="Only this actor: an id (opr_…, adk_…) or a label/e-mail."),
    action: str | None = Query(None, max_length=64, description='Only this action, e.g. "service_mode.set".'),
    target_id: str | None = Query(None, max_length=64, description="Only actions on this object."),
    limit: int = Query(limits.PAGE_LIMIT_DEFAULT, ge=1, le=limits.PAGE_LIMIT_MAX),
    starting_after: str | None = Query(None, max_length=64),
    engine: Engine = Depends(get_engine),
) -> dict:
    with engine.connect() as connection:
        found, more = operators.audit_entries(connection, operator=operator, action=action, target_id=target_id,
                                              limit=limit, starting_after=starting_after)
    return {"data": [entry.to_dict() for entry in found], "has_more": more}
