"""Withdrawals to a card: paid, refused by the bank (money back), limits, a short balance."""

from __future__ import annotations

from .conftest import SMALL_LIMITS_CURRENCY


def _funded(person, market, amount: int, currency: str = "USD") -> str:
    market.fund(person.id, amount, currency)
    return person.bind()


class TestWithdrawal:
    def test_the_money_leaves_the_balance_for_the_card(self, person, market):
        card = _funded(person, market, 5000)
        response = person.withdraw(2000, card)
        assert response.status_code == 201, response.text
        withdrawal = response.json()
        assert withdrawal["id"].startswith("wdr_") and withdrawal["status"] == "succeeded"
        assert withdrawal["destination_label"] == "Visa •••• 4242"
        assert person.balance() == {"currency": "USD", "available": 3000, "held": 0}
        assert person.client.get(f"/v1/me/withdrawals/{withdrawal['id']}", headers=person.headers).json() == withdrawal
        lines = person.history(type="withdrawal")["data"]
        assert [(x["amount"], x["held"], x["status"]) for x in lines] == [(0, -2000, "completed"), (-2000, 2000, "completed")]
        market.verify()

    def test_a_payout_the_bank_refuses_is_returned_to_the_balance(self, person, market):
        market.fund(person.id, 5000)
        card = person.bind("4000000000000002")
        withdrawal = person.withdraw(2000, card).json()
        assert withdrawal["status"] == "failed" and withdrawal["failure_code"] == "card_declined"
        assert person.balance() == {"currency": "USD", "available": 5000, "held": 0}
        lines = person.history(type="withdrawal")["data"]
        assert [(x["amount"], x["status"]) for x in lines] == [(2000, "completed"), (-2000, "returned")]
        market.verify()

    def test_a_short_balance_is_a_402_and_nothing_moves(self, person, market):
        card = _funded(person, market, 1000)
        response = person.withdraw(1001, card)
        assert response.status_code == 402 and response.json()["error"]["code"] == "insufficient_funds"
        assert person.balance() == {"currency": "USD", "available": 1000, "held": 0}
        assert person.history(type="withdrawal")["data"] == []
        market.verify()

    def test_another_users_withdrawal_and_card_are_not_found(self, person, market, make_person):
        card = _funded(person, market, 1000)
        withdrawal = person.withdraw(500, card).json()
        stranger = make_person()
        assert stranger.client.get(f"/v1/me/withdrawals/{withdrawal['id']}", headers=stranger.headers).status_code == 404
        market.fund(stranger.id, 1000)
        assert stranger.withdraw(500, card).status_code == 404
        assert stranger.balance()["available"] == 1000


class TestWithdrawalLimits:
    def test_above_the_per_transaction_limit_is_refused_clearly(self, person, market):
        card = _funded(person, market, 5000, SMALL_LIMITS_CURRENCY)
        response = person.withdraw(1001, card, SMALL_LIMITS_CURRENCY)
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["code"] == "withdrawal_limit_exceeded" and error["param"] == "amount"
        assert "€10.00" in error["message"]
        assert person.balance(SMALL_LIMITS_CURRENCY)["available"] == 5000

    def test_the_daily_limit_counts_what_was_withdrawn_in_24_hours(self, person, market):
        card = _funded(person, market, 5000, SMALL_LIMITS_CURRENCY)
        assert person.withdraw(1000, card, SMALL_LIMITS_CURRENCY).json()["status"] == "succeeded"
        refused = person.withdraw(600, card, SMALL_LIMITS_CURRENCY)
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "withdrawal_limit_exceeded"
        assert "€5.00 is left" in refused.json()["error"]["message"]
        assert person.withdraw(500, card, SMALL_LIMITS_CURRENCY).json()["status"] == "succeeded"
        assert person.balance(SMALL_LIMITS_CURRENCY)["available"] == 3500
        market.advance(24 * 3600 + 1)
        assert person.withdraw(1000, card, SMALL_LIMITS_CURRENCY).json()["status"] == "succeeded"
        market.verify()

    def test_a_refused_payout_does_not_use_up_the_daily_limit(self, person, market):
        market.fund(person.id, 5000, SMALL_LIMITS_CURRENCY)
        declining = person.bind("4000000000000002")
        good = person.bind()
        assert person.withdraw(1000, declining, SMALL_LIMITS_CURRENCY).json()["status"] == "failed"
        assert person.withdraw(1000, good, SMALL_LIMITS_CURRENCY).json()["status"] == "succeeded"
