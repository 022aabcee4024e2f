"""Trades, their refunds and disputes."""

from __future__ import annotations

import sqlalchemy as sa

from amanah.core.db import UTCDateTime, metadata

trades = sa.Table(
    "trades",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("platform_id", sa.String(32), sa.ForeignKey("platforms.id"), nullable=False),
    sa.Column("out_trade_no", sa.String(64), nullable=False),
    sa.Column("seller_id", sa.String(32), sa.ForeignKey("sellers.id"), nullable=False),
    sa.Column("seller_user_id", sa.String(32), sa.ForeignKey("users.id"), nullable=False),
    sa.Column("buyer_user_id", sa.String(32), sa.ForeignKey("users.id"), nullable=False),
    sa.Column("buyer_platform_user_id", sa.String(64), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("subject", sa.String(256), nullable=False),
    sa.Column("protection_days", sa.Integer, nullable=False),
    sa.Column("fee_bps", sa.Integer, nullable=True),
    sa.Column("fee_fixed", sa.BigInteger, nullable=True),
    sa.Column("status", sa.String(24), nullable=False),
    sa.Column("held_amount", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("refunded_amount", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("fee_amount", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("hold_transfer_id", sa.String(64), nullable=True),
    sa.Column("hold_generation", sa.Integer, nullable=False, server_default="0"),
    sa.Column("payment_status", sa.String(24), nullable=True),
    sa.Column("payment_source", sa.String(40), nullable=True),
    sa.Column("pay_currency", sa.String(3), nullable=True),
    sa.Column("pay_amount", sa.BigInteger, nullable=True),
    sa.Column("charge_id", sa.String(32), sa.ForeignKey("charges.id"), nullable=True),
    sa.Column("quote_id", sa.String(32), nullable=True),
    sa.Column("payment_failure_code", sa.String(32), nullable=True),
    sa.Column("carrier", sa.String(64), nullable=True),
    sa.Column("tracking_number", sa.String(64), nullable=True),
    sa.Column("shipped_at", UTCDateTime, nullable=True),
    sa.Column("release_at", UTCDateTime, nullable=True),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("paid_at", UTCDateTime, nullable=True),
    sa.Column("completed_at", UTCDateTime, nullable=True),
    sa.Column("closed_at", UTCDateTime, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

refunds = sa.Table(
    "refunds",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("trade_id", sa.String(32), sa.ForeignKey("trades.id"), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("reason", sa.String(500), nullable=False),
    sa.Column("source", sa.String(16), nullable=False),  # escrow or seller_balance
    sa.Column("destination", sa.String(16), nullable=False),  # balance or card
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("failure_code", sa.String(32), nullable=True),
    # After completion: what came back from the seller's balance and from the platform's fee
    # account (they add up to ``amount``); NULL for a refund out of escrow.
    sa.Column("seller_amount", sa.BigInteger, nullable=True),
    sa.Column("fee_refund_amount", sa.BigInteger, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.CheckConstraint("(seller_amount IS NULL AND fee_refund_amount IS NULL) OR (seller_amount >= 0 AND "
                       "fee_refund_amount >= 0 AND seller_amount + fee_refund_amount = amount)", name="shares"),
)

disputes = sa.Table(
    "disputes",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("trade_id", sa.String(32), sa.ForeignKey("trades.id"), nullable=False),
    sa.Column("reason", sa.String(1000), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # open or resolved
    sa.Column("outcome", sa.String(16), nullable=True),
    sa.Column("buyer_amount", sa.BigInteger, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("resolved_at", UTCDateTime, nullable=True),
)
