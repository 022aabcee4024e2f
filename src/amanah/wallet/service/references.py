"""What a history page's lines refer to: how each hold ended, and the trade, top-up,
withdrawal or quote behind each line — joined onto the page's own statement, so a page is one
read however many kinds of line it mixes.

Each join is on a unique key (a resolution's ``pending_id``, a transfer's id, a primary key), so
it never adds rows, and it runs after the page is limited: a few index look-ups per line. A
line's *reference* is its transfer's, or for an expiry (which has none) its hold's; its *owner*
is what that reference names, except a conversion's quote, which belongs to the trade or top-up
that used it. Ids carry their type's prefix (``trd_``, ``top_``, ``wdr_``, ``qt_``), so a
reference equal to a table's id names that kind."""

from __future__ import annotations

import sqlalchemy as sa

from amanah.fx.models import quotes
from amanah.ledger import TransferKind
from amanah.ledger.models import transfers
from amanah.platforms.models import platforms, sellers
from amanah.trades.models import trades
from amanah.wallet.models import topups, withdrawals

CURRENCY_EXCHANGE = "Currency exchange"

_resolution = transfers.alias("resolution")
_hold = transfers.alias("hold")

COLUMNS = [_resolution.c.kind.label("resolved_kind"), _hold.c.amount.label("hold_amount"),
           _hold.c.reference.label("hold_reference"), trades.c.id.label("trade_id"), trades.c.subject,
           trades.c.buyer_user_id, sellers.c.name.label("seller_name"), platforms.c.name.label("platform_name"),
           topups.c.source_label.label("topup_label"), withdrawals.c.destination_label.label("withdrawal_label")]
"""What ``joined`` adds to a line, in this order: how a pending transfer ended (NULL: still
held); the hold a resolution resolves (NULL: none); then the owner's fields, read by
``describe``."""


def _present(column):
    """The column with "" read as absent, as Python's ``or`` reads it."""
    return sa.func.nullif(column, "")


def joined(lines, line) -> sa.FromClause:
    """``lines`` (a FROM clause with the page's transfers as ``line``) joined to ``COLUMNS``'
    tables."""
    reference = sa.func.coalesce(_present(line.c.reference), _hold.c.reference)
    owner = sa.func.coalesce(_present(quotes.c.used_by), reference)
    return (lines
            .outerjoin(_resolution, sa.and_(line.c.kind == TransferKind.PENDING.value,
                                            _resolution.c.pending_id == line.c.id))
            .outerjoin(_hold, _hold.c.id == line.c.pending_id)
            .outerjoin(quotes, quotes.c.id == reference)
            .outerjoin(trades, trades.c.id == owner)
            .outerjoin(sellers, sellers.c.id == trades.c.seller_id)
            .outerjoin(platforms, platforms.c.id == trades.c.platform_id)
            .outerjoin(topups, topups.c.id == owner)
            .outerjoin(withdrawals, withdrawals.c.id == owner))


def describe(line, referred, user_id: str) -> None:
    """Fills the line's counterparty, marketplace, subject and trade id from the owner's fields
    of its row (``COLUMNS`` from ``trade_id`` on)."""
    trade_id, subject, buyer_user_id, seller_name, platform_name, topup_label, withdrawal_label = referred
    if trade_id is not None:
        line.trade_id, line.subject, line.marketplace = trade_id, subject, platform_name
        # The buyer sees whom they paid; the seller (and the fee) sees the marketplace.
        line.counterparty = seller_name if buyer_user_id == user_id else platform_name
    elif topup_label is not None:
        line.counterparty = topup_label
    elif withdrawal_label is not None:
        line.counterparty = withdrawal_label
    if line.type == "conversion":
        line.counterparty = CURRENCY_EXCHANGE
