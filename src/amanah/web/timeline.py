"""A trade's timeline as the trade page shows it: what happened, in order, in words that are true
for every path of the state machine (``trades/states.py``), and what is still to come.

Built from the trade, its refunds and its disputes (``trades.refunds_and_disputes``): a dispute
settled by a split names both amounts and never says "receipt confirmed"; a release tells who
released it (the buyer, the protection period's end, a dispute); refunds say how much, partial
or full; an unpaid trade says whether the marketplace cancelled it or it expired."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from amanah.money import Money, currency
from amanah.trades.service import Trade
from amanah.trades.states import ESCROW_STATES, TradeStatus
from amanah.web import i18n

DISPUTE_REFUND_REASON = "dispute settled"
"""The reason ``trades.resolve`` gives the refund it makes: shown as part of the settlement."""


@dataclass(frozen=True)
class Step:
    title: str
    when: datetime | None
    done: bool
    note: str = ""


def _money(amount: int, code: str) -> str:
    return Money(amount, currency(code)).format(i18n.babel_locale(i18n.current_locale()))


def timeline(trade: Trade, refunds: list[dict] = (), disputes: list[dict] = ()) -> list[Step]:
    _ = i18n.gettext
    placed = Step(_("Order placed"), trade.created_at, True)
    if trade.status is TradeStatus.CLOSED:
        expired = trade.closed_at is not None and trade.closed_at >= trade.expires_at
        return [placed, Step(_("Expired: the order was not paid in time") if expired
                             else _("Cancelled by the marketplace before payment"), trade.closed_at, True)]
    if trade.paid_at is None:
        return [placed, Step(_("Paid: the money waits in escrow"), None, False)]
    done = [placed, Step(_("Paid: the money waits in escrow"), trade.paid_at, True,
                         _money(trade.pay_amount, trade.pay_currency)
                         if trade.pay_currency and trade.pay_currency != trade.currency and trade.pay_amount else "")]
    if trade.shipped_at is not None:
        done.append(Step(_("Shipped by the seller"), trade.shipped_at, True,
                         f"{trade.carrier} {trade.tracking_number}"))
    settled_at = set()
    for dispute in disputes:
        done.append(Step(_("Dispute opened: nothing is released until it is settled"), dispute["created_at"], True,
                         dispute["reason"]))
        if dispute["status"] == "resolved":
            settled_at.add(dispute["resolved_at"])
            done.append(_settlement(trade, dispute, refunds))
    for refund in refunds:
        if refund["reason"] == DISPUTE_REFUND_REASON and refund["created_at"] in settled_at:
            continue  # said by the settlement
        done.append(_refund(trade, refund))
    if trade.completed_at is not None and trade.completed_at not in settled_at:
        done.append(_release(trade, refunds))
    done.sort(key=lambda step: step.when)
    return done + _to_come(trade)


def _release(trade: Trade, refunds: list[dict]) -> Step:
    """Who released the money, and what the seller got: the price less the refunds before the
    release, less the marketplace's fee (taken on what was released)."""
    _ = i18n.gettext
    automatic = (trade.shipped_at is not None and
                 (trade.completed_at - trade.shipped_at).total_seconds() >= trade.protection_days * 86400)
    title = _("Released automatically when the protection period ended: the seller is paid") if automatic \
        else _("Receipt confirmed: the seller is paid")
    refunded_before = sum(r["amount"] for r in refunds if r["created_at"] <= trade.completed_at)
    note = _("%(net)s to the seller (the marketplace's fee: %(fee)s)") % {
        "net": _money(trade.amount - refunded_before - trade.fee_amount, trade.currency),
        "fee": _money(trade.fee_amount, trade.currency)}
    return Step(title, trade.completed_at, True, note)


def _settlement(trade: Trade, dispute: dict, refunds: list[dict]) -> Step:
    _ = i18n.gettext
    outcome, buyer_amount = dispute["outcome"], dispute["buyer_amount"] or 0
    refunded_before = sum(r["amount"] for r in refunds if r["created_at"] < dispute["resolved_at"])
    seller_gross = trade.amount - refunded_before - buyer_amount
    values = {"buyer": _money(buyer_amount, trade.currency), "seller": _money(seller_gross, trade.currency)}
    if outcome == "refund_buyer":
        title = _("Dispute settled: %(buyer)s back to the buyer") % values
    elif outcome == "release_seller":
        title = _("Dispute settled: %(seller)s released to the seller") % values
    else:
        title = _("Dispute settled: %(buyer)s back to the buyer, %(seller)s to the seller") % values
    note = _("The marketplace's fee: %(fee)s") % {"fee": _money(trade.fee_amount, trade.currency)} \
        if outcome != "refund_buyer" and trade.fee_amount else ""
    return Step(title, dispute["resolved_at"], True, note)


def _refund(trade: Trade, refund: dict) -> Step:
    _ = i18n.gettext
    amount = _money(refund["amount"], trade.currency)
    whole = refund["amount"] == trade.amount
    title = (_("Refunded to the buyer in full: %(amount)s") if whole
             else _("Partly refunded to the buyer: %(amount)s")) % {"amount": amount}
    if refund["status"] == "processing":
        note = _("On its way back to the card it was paid with.")
    elif refund["status"] == "failed":
        note = _("The card could not take it back: the money is on the buyer's balance.")
    elif refund["destination"] == "source":
        note = _("Back on the card it was paid with.")
    else:
        note = _("Back on the buyer's balance.")
    return Step(title, refund["created_at"], True, note)


def _to_come(trade: Trade) -> list[Step]:
    """The steps still ahead of a trade whose money is in escrow."""
    _ = i18n.gettext
    if trade.status not in ESCROW_STATES:
        return []
    ahead = []
    if trade.status is TradeStatus.HELD:
        ahead.append(Step(_("Shipped by the seller"), None, False))
    if trade.status is TradeStatus.DISPUTED:
        return [Step(_("The marketplace settles the dispute"), None, False)]
    note = _("Released automatically on this date unless you confirm or dispute earlier.") if trade.release_at else ""
    ahead.append(Step(_("Receipt confirmed: the seller is paid"), trade.release_at, False, note))
    return ahead
