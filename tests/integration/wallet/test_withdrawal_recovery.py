"""A process dying in the middle of a withdrawal: the held money is neither lost nor paid twice.
The recovery job asks the acquirer (payouts are idempotent by the withdrawal's id) and settles."""

from __future__ import annotations

from amanah.cards.connectors.registry import card_acquirer
from amanah.core.clock import clock
from amanah.core.db import run_in_transaction
from amanah.core.ids import new_id
from amanah.money import Money, currency
from amanah.wallet.service import withdrawals


def start_then_crash(person, settings, engine, card_id: str, *, after_payout: bool) -> str:
    """Runs the first step (and the payout, if asked), then stops as a killed process would."""
    withdrawal_id = new_id("wdr")
    amount = Money(1500, currency("USD"))
    card = run_in_transaction(engine, lambda c: withdrawals._hold(c, settings, withdrawal_id, person.id, amount, card_id,
                                                                  clock.now()))
    if after_payout:
        card_acquirer(engine, settings).payout(withdrawal_id, card, amount)
    return withdrawal_id


class TestACrashDuringAWithdrawal:
    def test_a_payout_that_never_left_returns_the_money(self, person, settings, engine):
        card_id = person.bind()
        assert person.topup(5000, card_id=card_id).status_code == 201
        withdrawal_id = start_then_crash(person, settings, engine, card_id, after_payout=False)
        assert person.balance()["available"] == 3500
        person.market.advance(60)
        got = person.client.get(f"/v1/me/withdrawals/{withdrawal_id}", headers=person.headers).json()
        assert (got["status"], got["failure_code"]) == ("failed", "processing_error")
        assert person.balance() == {**person.balance(), "available": 5000, "held": 0}
        person.market.verify()

    def test_a_payout_that_was_made_is_posted_once(self, person, settings, engine):
        card_id = person.bind()
        person.topup(5000, card_id=card_id)
        withdrawal_id = start_then_crash(person, settings, engine, card_id, after_payout=True)
        person.market.advance(60)
        got = person.client.get(f"/v1/me/withdrawals/{withdrawal_id}", headers=person.headers).json()
        assert got["status"] == "succeeded"
        assert person.balance() == {**person.balance(), "available": 3500, "held": 0}
        person.market.advance(60)  # running again changes nothing
        assert person.balance()["available"] == 3500
        person.market.verify()
