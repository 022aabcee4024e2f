"""The trade as the API and webhooks show it."""

from __future__ import annotations

from amanah.trades.service.common import Trade


def trade_payload(trade: Trade, *, base_url: str | None) -> dict:
    payment = None
    if trade.payment_status:
        payment = {"status": trade.payment_status, "source": trade.payment_source,
                   "pay_currency": trade.pay_currency, "pay_amount": trade.pay_amount,
                   "quote_id": trade.quote_id, "failure_code": trade.payment_failure_code,
                   "paid_at": trade.paid_at}
    shipping = None
    if trade.shipped_at:
        shipping = {"carrier": trade.carrier, "tracking_number": trade.tracking_number,
                    "shipped_at": trade.shipped_at}
    payload = {
        "id": trade.id, "out_trade_no": trade.out_trade_no, "status": trade.status.value,
        "seller_id": trade.seller_id, "buyer": {"user_id": trade.buyer_user_id,
                                                "platform_user_id": trade.buyer_platform_user_id},
        "amount": trade.amount, "currency": trade.currency, "subject": trade.subject,
        "protection_days": trade.protection_days,
        "fee": {"bps": trade.fee_bps, "amount": trade.fee_fixed},
        "held_amount": trade.held_amount, "refunded_amount": trade.refunded_amount,
        "fee_amount": trade.fee_amount, "payment": payment, "shipping": shipping,
        "release_at": trade.release_at, "expires_at": trade.expires_at, "completed_at": trade.completed_at,
        "closed_at": trade.closed_at, "created_at": trade.created_at, "updated_at": trade.updated_at,
    }
    if base_url is not None:
        payload["checkout_url"] = f"{base_url}/checkout/{trade.id}"
    return payload
