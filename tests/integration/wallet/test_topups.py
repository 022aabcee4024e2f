"""Top-ups, worked through the API: by card, with 3-D Secure, declined, in another currency,
and refused while the service winds down."""

from __future__ import annotations

import pytest

from amanah.core import service_mode
from amanah.core.clock import clock
from amanah.core.db import run_in_transaction
from amanah.fx import service as fx_service
from tests.statement_order import StatementOrder


def _approve(person, url: str, outcome: str = "approve", status: int = 200) -> None:
    response = person.client.post(url.removeprefix("http://testserver"), data={"outcome": outcome})
    assert response.status_code == status, response.text


class TestTopUpByCard:
    def test_a_4242_card_tops_the_balance_up_at_once(self, person, market):
        card = person.bind()
        response = person.topup(5000, card_id=card)
        assert response.status_code == 201, response.text
        topup = response.json()
        assert topup["id"].startswith("top_") and topup["status"] == "succeeded"
        assert topup["charge"] == {"amount": 5000, "currency": "USD"} and topup["source_label"] == "Visa •••• 4242"
        assert person.balance() == {"currency": "USD", "available": 5000, "held": 0}
        assert person.client.get(f"/v1/me/topups/{topup['id']}", headers=person.headers).json() == topup
        market.verify()

    def test_the_balance_is_credited_last_in_its_transaction(self, person, market):
        """The clearing account is every card top-up's: locked only for the ledger and COMMIT."""
        card = person.bind()
        with StatementOrder(person.client.app.state.engine) as order:
            assert person.topup(5000, card_id=card).json()["status"] == "succeeded"
        order.assert_ledger_is_last()
        market.verify()

    def test_three_d_secure_credits_the_balance_once_approved(self, person, market):
        card = person.bind("4000000000003220")
        topup = person.topup(1200, card_id=card).json()
        assert topup["status"] == "requires_action" and topup["next_action"]["type"] == "redirect_to_url"
        assert person.balance()["available"] == 0  # nothing moves before the bank says yes
        _approve(person, topup["next_action"]["url"])
        after = person.client.get(f"/v1/me/topups/{topup['id']}", headers=person.headers).json()
        assert after["status"] == "succeeded" and after["next_action"] is None
        assert person.balance()["available"] == 1200
        _approve(person, topup["next_action"]["url"], status=409)  # a second click changes nothing
        assert person.balance()["available"] == 1200
        market.verify()

    def test_a_failed_three_d_secure_check_moves_nothing(self, person, market):
        card = person.bind("5200000000001096")
        topup = person.topup(1200, card_id=card).json()
        _approve(person, topup["next_action"]["url"], "fail")
        after = person.client.get(f"/v1/me/topups/{topup['id']}", headers=person.headers).json()
        assert after["status"] == "failed" and after["failure_code"] == "authentication_failed"
        assert person.balance()["available"] == 0
        assert person.history()["data"] == []
        market.verify()

    def test_a_declined_card_moves_nothing(self, person, market):
        card = person.bind("4000000000000002")
        topup = person.topup(700, card_id=card)
        assert topup.status_code == 201
        assert topup.json()["status"] == "failed" and topup.json()["failure_code"] == "card_declined"
        assert person.balance()["available"] == 0
        assert person.history()["data"] == []
        market.verify()

    def test_an_e_wallet_tops_up_after_the_payer_approves(self, person, market):
        topup = person.topup(900, source="wallet:alphapay").json()
        assert topup["status"] == "requires_action"
        _approve(person, topup["next_action"]["url"])
        assert person.balance()["available"] == 900
        market.verify()


class TestTopUpInAnotherCurrency:
    def test_the_card_is_charged_in_its_currency_and_the_balance_gets_exactly_the_amount(self, person, market, engine):
        run_in_transaction(engine, lambda c: fx_service.load_sample_rates(c, now=clock.now()))
        card = person.bind()
        topup = person.topup(10_000, "JPY", card_id=card, charge_currency="USD").json()
        assert topup["status"] == "succeeded", topup
        assert topup["charge"]["currency"] == "USD" and topup["charge"]["amount"] > 0 and topup["quote_id"]
        assert person.balance("JPY")["available"] == 10_000
        assert person.balance("USD")["available"] == 0  # charged dollars went straight through the exchange
        types = [(line["type"], line["currency"], line["amount"]) for line in person.history()["data"]]
        assert types == [("conversion", "JPY", 10_000), ("conversion", "USD", -topup["charge"]["amount"]),
                         ("topup", "USD", topup["charge"]["amount"])]
        market.verify()


class TestBadTopUps:
    @pytest.mark.parametrize("body, param", [
        ({"amount": 0, "currency": "USD", "card_id": "card_x"}, "amount"),
        ({"amount": 100, "currency": "XYZ", "card_id": "card_x"}, "currency"),
        ({"amount": 100, "currency": "USD"}, None),
    ])
    def test_bad_input_is_a_clear_400(self, person, body, param):
        response = person.client.post("/v1/me/topups", headers=person.headers, json=body)
        assert response.status_code == 400, response.text
        assert response.json()["error"]["type"] == "invalid_request"
        if param:
            assert response.json()["error"]["param"] == param

    def test_another_users_card_and_top_up_are_not_found(self, person, make_person):
        stranger = make_person()
        card = person.bind()
        assert stranger.topup(100, card_id=card).status_code == 404
        topup = person.topup(100, card_id=card).json()
        response = stranger.client.get(f"/v1/me/topups/{topup['id']}", headers=stranger.headers)
        assert response.status_code == 404 and response.json()["error"]["type"] == "not_found"


class TestWindDown:
    def test_top_ups_are_refused_and_withdrawals_allowed(self, person, market, engine):
        card = person.bind()
        person.topup(3000, card_id=card)
        run_in_transaction(engine, lambda c: service_mode.set_mode(c, "wind_down", changed_by="test", now=clock.now()))
        try:
            refused = person.topup(100, card_id=card)
            assert refused.status_code == 403 and refused.json()["error"]["type"] == "service_mode"
            withdrawn = person.withdraw(3000, card)
            assert withdrawn.status_code == 201 and withdrawn.json()["status"] == "succeeded"
        finally:
            run_in_transaction(engine, lambda c: service_mode.set_mode(c, "normal", changed_by="test", now=clock.now()))
        assert person.balance() == {"currency": "USD", "available": 0, "held": 0}
        market.verify()
