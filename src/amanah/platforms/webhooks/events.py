"""The event types a platform can subscribe to (API.md, "Events")."""

from __future__ import annotations

import enum


class EventType(enum.StrEnum):
    TRADE_HELD = "trade.held"
    """The buyer paid; the money is in escrow."""
    TRADE_SHIPPED = "trade.shipped"
    """The seller shipped; the protection timer runs."""
    TRADE_COMPLETED = "trade.completed"
    """Escrow released to the seller (buyer confirmed or the timer ran out)."""
    TRADE_REFUNDED = "trade.refunded"
    """A full or partial refund was made."""
    TRADE_DISPUTED = "trade.disputed"
    """The buyer opened a dispute; the timer stopped."""
    TRADE_DISPUTE_RESOLVED = "trade.dispute_resolved"
    """The platform settled the dispute."""
    TRADE_CLOSED = "trade.closed"
    """Never paid: cancelled or expired."""
    SELLER_ACTIVATED = "seller.activated"
    """The person behind a pending (or declined) seller accepted: trades may name it now."""


EVENT_TYPES: tuple[str, ...] = tuple(event_type.value for event_type in EventType)
"""Every event type, in the order API.md lists them."""

ALL_EVENTS = "*"
"""In an endpoint's ``events``: every event type, those of today and any added later (Stripe's
convention). Stored as it is, never expanded, so that a new type reaches the endpoint too."""

PING = "ping"
"""The test event ``POST /v1/webhook_endpoints/{id}/test`` sends to one endpoint. Not an
``EventType``: nothing subscribes to it, and ``*`` does not bring it."""

DELIVERED_TYPES: tuple[str, ...] = (*EVENT_TYPES, PING)
"""The ``type`` a delivery may carry."""
