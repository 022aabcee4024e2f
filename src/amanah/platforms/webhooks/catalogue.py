"""The event catalogue (``GET /v1/events/types``): every event type with what it means and a
sample of the body a receiver gets, so that a marketplace can write its handler before the first
real event. The samples have the real payloads' shape exactly (a test compares them with events
the trade code emitted); their values are made up."""

from __future__ import annotations

import copy

from amanah.platforms.webhooks.events import EVENT_TYPES, PING, EventType

DESCRIPTIONS: dict[str, str] = {
    EventType.TRADE_HELD: "The buyer paid; the money is in escrow.",
    EventType.TRADE_SHIPPED: "The seller shipped; the buyer's protection period runs.",
    EventType.TRADE_COMPLETED: "Escrow was released to the seller (the buyer confirmed, the protection period "
                               "ended, or a dispute was settled for the seller).",
    EventType.TRADE_REFUNDED: "A full or partial refund was made (`data.refund` says how much, and after "
                              "completion how much came back from the seller and from the platform's fee).",
    EventType.TRADE_DISPUTED: "The buyer opened a dispute; the protection timer stopped and nothing is released.",
    EventType.TRADE_DISPUTE_RESOLVED: "The platform settled the dispute (`data.resolution`).",
    EventType.TRADE_CLOSED: "Never paid: cancelled by the platform or expired (`data.reason`).",
    EventType.SELLER_ACTIVATED: "The person behind a pending (or declined) seller accepted: trades may name it now.",
    PING: "A test event, sent only by `POST /v1/webhook_endpoints/{id}/test`, to the one endpoint; "
          "not subscribable.",
}
assert set(DESCRIPTIONS) == {*EVENT_TYPES, PING}, "every event type needs a description"

_TIMESTAMP = "2026-11-27T10:00:00.000000Z"

_TRADE = {
    "id": "trd_01JD2Y5W8Q3VZK7N4M6B9C0XAE", "out_trade_no": "order-1042", "status": "held",
    "seller_id": "sel_01JD2Y4H1T9FQ2R8S5W3V6N7KP",
    "buyer": {"user_id": "usr_01JD2Y5W7R6Q4P2N8M1K3J5H9G", "platform_user_id": "buyer-77"},
    "amount": 2599, "currency": "USD", "subject": "Blue teapot", "protection_days": 15,
    "fee": {"bps": 250, "amount": None}, "held_amount": 2599, "refunded_amount": 0, "fee_amount": 64,
    "payment": {"status": "succeeded", "source": "card_01JD2Y6A2B3C4D5E6F7G8H9J0K", "pay_currency": "USD",
                "pay_amount": 2599, "quote_id": None, "failure_code": None, "paid_at": _TIMESTAMP},
    "shipping": None, "release_at": None, "expires_at": "2026-11-28T09:55:00.000000Z", "completed_at": None,
    "closed_at": None, "created_at": "2026-11-27T09:55:00.000000Z", "updated_at": _TIMESTAMP,
}
_SHIPPING = {"carrier": "DHL", "tracking_number": "JD014600006281", "shipped_at": _TIMESTAMP}


def _trade(**changes) -> dict:
    trade = copy.deepcopy(_TRADE)
    trade.update(changes)
    return trade


_DATA: dict[str, dict] = {
    EventType.TRADE_HELD: _trade(),
    EventType.TRADE_SHIPPED: _trade(status="shipped", shipping=_SHIPPING, release_at="2026-12-12T10:00:00.000000Z"),
    EventType.TRADE_COMPLETED: _trade(status="completed", shipping=_SHIPPING, held_amount=0, completed_at=_TIMESTAMP),
    EventType.TRADE_REFUNDED: {
        **_trade(status="refunded", held_amount=0, refunded_amount=2599, fee_amount=0),
        "refund": {"id": "ref_01JD2Y7B3C4D5E6F7G8H9J0K1M", "amount": 2599, "source": "escrow",
                   "seller_amount": None, "fee_refund_amount": None},
    },
    EventType.TRADE_DISPUTED: {
        **_trade(status="disputed", shipping=_SHIPPING),
        "dispute": {"id": "dsp_01JD2Y8C4D5E6F7G8H9J0K1M2N", "reason": "The teapot arrived broken."},
    },
    EventType.TRADE_DISPUTE_RESOLVED: {
        **_trade(status="completed", shipping=_SHIPPING, held_amount=0, refunded_amount=1000, completed_at=_TIMESTAMP),
        "resolution": {"outcome": "split", "buyer_amount": 1000},
    },
    EventType.TRADE_CLOSED: {
        **_trade(status="closed", held_amount=0, fee_amount=0, payment=None, closed_at=_TIMESTAMP),
        "reason": "cancelled",
    },
    EventType.SELLER_ACTIVATED: {
        "id": "sel_01JD2Y4H1T9FQ2R8S5W3V6N7KP", "platform_seller_id": "seller-12",
        "user_id": "usr_01JD2Y4H0S8EP1Q7R4V2T5M6JN", "name": "Teapot Workshop", "status": "active",
        "created_at": "2026-11-20T08:00:00.000000Z",
    },
    PING: {"endpoint_id": "whe_01JD2Y3G0S8EP1Q7R4V2T5M6JN",
           "message": "A test event from Amanah: this endpoint receives and verifies webhooks."},
}


def ping_data(endpoint_id: str) -> dict:
    """The body of a ``ping`` to ``endpoint_id`` (the one event type with no subject of its own)."""
    return {**_DATA[PING], "endpoint_id": endpoint_id}


def sample(event_type: str) -> dict:
    """A body as a receiver gets it: ``{type, timestamp, data}``."""
    return {"type": event_type, "timestamp": _TIMESTAMP, "data": copy.deepcopy(_DATA[event_type])}


def catalogue() -> list[dict]:
    """Every event type, subscribable ones first in API.md's order, then ``ping``."""
    return [{"type": name, "description": DESCRIPTIONS[name], "subscribable": name != PING, "sample": sample(name)}
            for name in (*EVENT_TYPES, PING)]
