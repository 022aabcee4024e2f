"""Trade use cases; each takes the edge's connection (or engine, when a connector is called)."""

from amanah.trades.service.common import Trade, load
from amanah.trades.service.create import NewTrade, create_trade
from amanah.trades.service.disputes import Outcome, open_dispute, resolve
from amanah.trades.service.lifecycle import cancel, confirm, expire_due, release_due, ship
from amanah.trades.service.pay import AlsoWrite, BuyerLookUp, PayRequest, pay_from_balance, pay_from_balance_at_once, pay_with_charge
from amanah.trades.service.queries import Viewer, get_visible, list_visible, refunds_and_disputes
from amanah.trades.service.refunds import refund
from amanah.trades.service.views import trade_payload

__all__ = [
    "AlsoWrite", "BuyerLookUp", "NewTrade", "Outcome", "PayRequest", "Trade", "Viewer", "cancel", "confirm", "create_trade",
    "expire_due", "get_visible", "list_visible", "load", "open_dispute", "pay_from_balance", "pay_from_balance_at_once",
    "pay_with_charge", "refund", "refunds_and_disputes", "release_due", "resolve", "ship", "trade_payload",
]
