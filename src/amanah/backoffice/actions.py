"""Operator actions, each with its audit row written in the same transaction.

Every function takes the edge's connection and an ``AuditContext`` (who, request id, client
address), calls the owning domain's use case — the trades' dispute settlement, the service
mode, the FX service, operator accounts — and records the state before and after. The back
office, the admin API and the ``amanah operators`` commands all come through here, so an action
cannot happen without its row (and a row is never written for an action that rolled back)."""

from __future__ import annotations

import hashlib
from datetime import date, datetime

from sqlalchemy.engine import Connection

from amanah.core import service_mode
from amanah.core.config import Settings
from amanah.fx import service as fx
from amanah.fx.pricing import plain
from amanah.operators import service as operators
from amanah.operators.service import AuditContext
from amanah.trades import service as trades
from amanah.trades.service.disputes import open_dispute_of
from amanah.wallet import service as wallet

NOTE_LENGTH_MAX = 500


def set_service_mode(connection: Connection, context: AuditContext, *, mode: str, reason: str | None,
                     now: datetime) -> service_mode.ModeState:
    before = service_mode.current(connection)
    after = service_mode.set_mode(connection, mode, changed_by=context.actor.changed_by, now=now, reason=reason)
    operators.record_audit(connection, context, action="service_mode.set", target_type="service_mode",
                           target_id="service", before=before.to_dict(), after=after.to_dict(), now=now)
    return after


def _balance(connection: Connection, user_id: str, code: str) -> dict:
    found = next((b for b in wallet.balances(connection, user_id) if b.currency == code), None)
    return {"available": found.available if found else 0, "held": found.held if found else 0}


def _trade_state(connection: Connection, trade: trades.Trade) -> dict:
    return {"status": trade.status.value, "amount": trade.amount, "currency": trade.currency,
            "held_amount": trade.held_amount, "refunded_amount": trade.refunded_amount,
            "fee_amount": trade.fee_amount,
            "buyer": {"user_id": trade.buyer_user_id, **_balance(connection, trade.buyer_user_id, trade.currency)},
            "seller": {"user_id": trade.seller_user_id,
                       **_balance(connection, trade.seller_user_id, trade.currency)}}


def resolve_dispute(connection: Connection, context: AuditContext, trade_id: str, *, outcome: str,
                    buyer_amount: int | None, note: str | None, now: datetime) -> trades.Trade:
    """Settles an open dispute with the trades service (as a platform's resolve call does)."""
    before_trade = trades.load(connection, trade_id, for_update=True)
    dispute = open_dispute_of(connection, trade_id)
    before = {**_trade_state(connection, before_trade), "dispute": dispute}
    after_trade = trades.resolve(connection, trade_id, outcome=outcome, buyer_amount=buyer_amount, now=now)
    after = {**_trade_state(connection, after_trade), "dispute": open_dispute_of(connection, trade_id),
             "note": (note or "").strip()[:NOTE_LENGTH_MAX] or None}
    operators.record_audit(connection, context, action="dispute.resolve", target_type="trade", target_id=trade_id,
                           before=before, after=after, now=now)
    return after_trade


def set_fx_rate(connection: Connection, context: AuditContext, settings: Settings, *, base: str, quote: str,
                rate: str, as_of: date | None, now: datetime):
    day = as_of or now.date()
    base_code = fx.supported_currency(base, param="base").code
    quote_code = fx.supported_currency(quote, param="quote").code
    shown = fx.rates_for(connection, base_code, on=day, age_max_days=settings.fx_rate_age_max_days)
    previous = shown.rates.get(quote_code)
    stored = fx.set_rate(connection, base_code, quote_code, rate, now=now, as_of=as_of)
    before = None if previous is None else {"base": base_code, "quote": quote_code, "rate": plain(previous.shown()),
                                            "as_of": previous.as_of, "sources": sorted(previous.sources)}
    after = {"base": stored.base.code, "quote": stored.quote.code, "rate": plain(stored.rate), "as_of": stored.as_of,
             "source": stored.source}
    operators.record_audit(connection, context, action="fx.rate.set", target_type="fx_rate",
                           target_id=f"{stored.base.code}/{stored.quote.code}", before=before, after=after, now=now)
    return stored


def import_fx_rates(connection: Connection, context: AuditContext, data: bytes, *, file_name: str | None,
                    now: datetime) -> fx.ImportReport:
    report = fx.import_rates_file(connection, data, now=now)
    after = {"file_name": (file_name or "")[:200] or None, "bytes": len(data),
             "sha256": hashlib.sha256(data).hexdigest(), "format": report.format, "stored": report.stored,
             "first_day": report.first_day, "last_day": report.last_day,
             "skipped_currencies": report.skipped_currencies}
    operators.record_audit(connection, context, action="fx.rates.import", target_type="fx_rates",
                           target_id=report.format, after=after, now=now)
    return report


def _account_state(account: operators.OperatorAccount) -> dict:
    """An account as the log shows it: never a password or a TOTP secret."""
    return {"email": account.email, "password_change_required": account.password_change_required,
            "disabled_at": account.disabled_at}


def create_operator(connection: Connection, context: AuditContext, settings: Settings, *, email: str,
                    now: datetime) -> operators.NewCredentials:
    made = operators.create_account(connection, settings, email=email, now=now)
    operators.record_audit(connection, context, action="operator.create", target_type="operator",
                           target_id=made.account.id, after=_account_state(made.account), now=now)
    return made


def disable_operator(connection: Connection, context: AuditContext, id_or_email: str, *,
                     now: datetime) -> operators.OperatorAccount:
    before = operators.find_account(connection, id_or_email)
    after = operators.disable_account(connection, id_or_email, now=now)
    operators.record_audit(connection, context, action="operator.disable", target_type="operator",
                           target_id=after.id, before=_account_state(before), after=_account_state(after), now=now)
    return after


def reset_operator_credentials(connection: Connection, context: AuditContext, settings: Settings,
                               id_or_email: str, *, now: datetime) -> operators.NewCredentials:
    before = operators.find_account(connection, id_or_email)
    made = operators.reset_credentials(connection, settings, id_or_email, now=now)
    operators.record_audit(connection, context, action="operator.reset_credentials", target_type="operator",
                           target_id=made.account.id, before=_account_state(before),
                           after={**_account_state(made.account), "totp_secret_replaced": True}, now=now)
    return made


def operator_logged_in(connection: Connection, context: AuditContext, *, now: datetime) -> None:
    operators.record_audit(connection, context, action="operator.log_in", target_type="operator",
                           target_id=context.actor.id, now=now)


def operator_logged_out(connection: Connection, context: AuditContext, *, now: datetime) -> None:
    operators.record_audit(connection, context, action="operator.log_out", target_type="operator",
                           target_id=context.actor.id, now=now)


def change_operator_password(connection: Connection, context: AuditContext, settings: Settings, *,
                             current_password: str, new_password: str, now: datetime) -> operators.OperatorAccount:
    before = operators.get_account(connection, context.actor.id)
    after = operators.change_password(connection, settings, context.actor.id, current_password=current_password,
                                      new_password=new_password, now=now)
    operators.record_audit(connection, context, action="operator.password_change", target_type="operator",
                           target_id=after.id, before=_account_state(before), after=_account_state(after), now=now)
    return after


def set_platform_fee_limit(connection: Connection, context: AuditContext, platform_id: str, *, bps_max: int,
                           now: datetime) -> int:
    """The most the platform may take of a trade from now on, in basis points (new trades above
    it are ``fee_too_high``)."""
    from amanah.platforms import service as platforms

    before, after = platforms.set_fee_limit(connection, platform_id, bps_max=bps_max)
    operators.record_audit(connection, context, action="platform.fee_limit.set", target_type="platform",
                           target_id=platform_id, before={"fee_bps_max": before}, after={"fee_bps_max": after},
                           now=now)
    return after


def rotate_platform_key(connection: Connection, context: AuditContext, platform_id: str, *, grace_s: int,
                        now: datetime):
    """A new secret key for the platform; its other keys keep working ``grace_s`` more seconds.
    (key, secret): the secret is for the operator's eyes once; the log has the key's id only."""
    from amanah.platforms import service as platforms

    made, secret, ended = platforms.rotate_key(connection, platform_id, grace_s=grace_s, now=now)
    operators.record_audit(connection, context, action="platform.key.create", target_type="platform",
                           target_id=platform_id, before={"keys_given_an_end": [key.id for key in ended]},
                           after={"key": made.to_dict(), "grace_s": grace_s,
                                  "others_end_at": [key.to_dict() for key in ended]}, now=now)
    return made, secret


def revoke_platform_key(connection: Connection, context: AuditContext, platform_id: str, key_id: str, *,
                        now: datetime):
    """Ends one of the platform's keys at once; a second revocation is a no-op, not logged again."""
    from amanah.platforms import service as platforms

    before = platforms.get_key(connection, platform_id, key_id, now=now)
    after, changed = platforms.revoke_key(connection, platform_id, key_id, now=now)
    if changed:
        operators.record_audit(connection, context, action="platform.key.revoke", target_type="platform",
                               target_id=platform_id, before=before.to_dict(), after=after.to_dict(), now=now)
    return after


def set_platform_disabled(connection: Connection, context: AuditContext, platform_id: str, *, disabled: bool,
                          now: datetime):
    """Disables the platform (all its keys are refused) or enables it; logged when it changed."""
    from amanah.platforms import service as platforms

    before, after = platforms.set_disabled(connection, platform_id, disabled=disabled, now=now)
    if before.disabled_at != after.disabled_at:
        operators.record_audit(connection, context, action="platform.disable" if disabled else "platform.enable",
                               target_type="platform", target_id=platform_id,
                               before={"disabled_at": before.disabled_at}, after={"disabled_at": after.disabled_at},
                               now=now)
    return after
