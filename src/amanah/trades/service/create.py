"""A platform opens a trade; the buyer is registered on the spot if the e-mail is new."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from amanah.core import limits, service_mode
from amanah.core.errors import Conflict, InvalidRequest
from amanah.core.ids import new_id
from amanah.money import Money
from amanah.platforms import service as platforms
from amanah.trades.models import trades
from amanah.trades.service.common import Trade, load
from amanah.trades.states import TradeStatus
from amanah.users import service as users


@dataclass(frozen=True)
class NewTrade:
    out_trade_no: str
    seller_id: str
    buyer_platform_user_id: str
    buyer_email: str
    amount: Money
    subject: str
    protection_days: int = limits.TRADE_PROTECTION_DAYS_DEFAULT
    fee_bps: int | None = None
    fee_fixed: int | None = None
    buyer_name: str | None = None


def _check(new: NewTrade) -> None:
    if not 0 < new.amount.amount_minor <= limits.AMOUNT_MAX_MINOR:
        raise InvalidRequest(f"The amount must be 1 to {limits.AMOUNT_MAX_MINOR} minor units.",
                             code="amount_out_of_range", param="amount")
    if not 1 <= new.protection_days <= limits.TRADE_PROTECTION_DAYS_MAX:
        raise InvalidRequest(f"protection_days must be 1 to {limits.TRADE_PROTECTION_DAYS_MAX}.",
                             code="protection_days_out_of_range", param="protection_days")
    if new.fee_bps is not None and new.fee_fixed is not None:
        raise InvalidRequest("Give the fee as basis points or as a fixed amount, not both.",
                             code="fee_ambiguous", param="fee")
    if new.fee_bps is not None and not 0 <= new.fee_bps <= 10_000:
        raise InvalidRequest("fee.bps must be 0 to 10000 (100%).", code="fee_out_of_range", param="fee.bps")
    if new.fee_fixed is not None and not 0 <= new.fee_fixed <= new.amount.amount_minor:
        raise InvalidRequest("fee.amount must be 0 to the trade's amount.", code="fee_out_of_range", param="fee.amount")
    if not new.subject.strip():
        raise InvalidRequest("The subject (what is being bought) cannot be empty.",
                             code="subject_missing", param="subject")


def create_trade(connection: Connection, platform_id: str, new: NewTrade, *, now: datetime) -> tuple[Trade, bool]:
    """The new trade (and True), or the platform's existing trade with this ``out_trade_no``
    when every field is the same (and False); the same number with other fields is a 409."""
    _check(new)
    seller = platforms.get_seller(connection, platform_id, new.seller_id)
    existing = connection.execute(sa.select(trades.c.id).where(
        trades.c.platform_id == platform_id, trades.c.out_trade_no == new.out_trade_no)).first()
    if existing is not None:
        return _same_or_conflict(load(connection, existing.id), new), False
    # A repeat of an existing trade (above) is no new business; anything else is.
    service_mode.refuse_new_business(connection, "Opening new trades", audience="platform")
    if users.is_closed(connection, seller.user_id):
        raise Conflict("This seller closed their payment account; it cannot receive new trades.",
                       code="seller_account_closed", param="seller_id")
    platforms.require_active_seller(seller)
    _check_fee_limit(new, platforms.fee_limit_bps(connection, platform_id))
    buyer = platforms.link_buyer(connection, platform_id, platform_user_id=new.buyer_platform_user_id,
                                 email=new.buyer_email, name=new.buyer_name, now=now)
    if buyer.id == seller.user_id:
        raise InvalidRequest("A seller cannot buy from themselves.", code="seller_is_buyer", param="buyer")
    trade_id = new_id("trd")
    connection.execute(trades.insert().values(
        id=trade_id, platform_id=platform_id, out_trade_no=new.out_trade_no, seller_id=seller.id,
        seller_user_id=seller.user_id, buyer_user_id=buyer.id, buyer_platform_user_id=new.buyer_platform_user_id,
        amount=new.amount.amount_minor, currency=new.amount.currency.code, subject=new.subject.strip(),
        protection_days=new.protection_days, fee_bps=new.fee_bps, fee_fixed=new.fee_fixed,
        status=TradeStatus.AWAITING_PAYMENT.value,
        expires_at=now + timedelta(seconds=limits.TRADE_UNPAID_EXPIRY_S), created_at=now, updated_at=now))
    return load(connection, trade_id), True


def _check_fee_limit(new: NewTrade, bps_max: int) -> None:
    """The fee may not exceed the operator's limit for the platform: basis points as they are, a
    fixed amount as its share of the trade's amount (compared exactly, in integers)."""
    amount = new.amount.amount_minor
    too_high = (new.fee_bps is not None and new.fee_bps > bps_max) or (
        new.fee_fixed is not None and new.fee_fixed * 10_000 > bps_max * amount)
    if too_high:
        raise InvalidRequest(f"The fee is above this marketplace's limit of {bps_max / 100:g}% of the amount "
                             f"({amount * bps_max // 10_000} of {amount}).", code="fee_too_high", param="fee")


def _same_or_conflict(trade: Trade, new: NewTrade) -> Trade:
    same = (trade.seller_id, trade.amount, trade.currency, trade.subject, trade.buyer_platform_user_id) == (
        new.seller_id, new.amount.amount_minor, new.amount.currency.code, new.subject.strip(),
        new.buyer_platform_user_id)
    if not same:
        raise Conflict(f"out_trade_no {new.out_trade_no!r} is already used by trade {trade.id} with other "
                       "details.", code="out_trade_no_taken", param="out_trade_no")
    return trade


