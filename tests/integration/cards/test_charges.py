"""Charging a card or an e-wallet: every sandbox outcome, 3-D Secure, and the purpose's handler
running exactly once with the outcome."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from amanah.cards import charges
from amanah.cards.connectors.sandbox import TEST_CARDS
from amanah.cards.errors import InvalidCard
from amanah.cards.models import sandbox_operations
from amanah.core.errors import NotFound
from amanah.money import Money, currency

from .conftest import card_body

SETTLED: list[tuple[str, str, str | None]] = []


@charges.on_settled("cardtest")
def record_settlement(connection, charge, now) -> None:
    """The purpose's own side: here, a note of what was settled (a top-up would move money)."""
    SETTLED.append((charge.id, charge.status.value, charge.failure_code))


def usd(amount: int) -> Money:
    return Money(amount, currency("USD"))


@pytest.fixture
def charge_card(client, holder, engine, settings, now):
    def charge(number: str, amount: int = 2599) -> charges.Charge:
        card = client.post("/v1/me/cards", json=card_body(number), headers=holder.headers).json()
        return charges.start_charge(engine, settings, user_id=holder.id, source=card["id"], amount=usd(amount),
                                    purpose="cardtest:1", now=now, return_url="http://testserver/done")

    return charge


def settlements_of(charge_id: str) -> list[tuple[str, str | None]]:
    return [(status, code) for cid, status, code in SETTLED if cid == charge_id]


class TestChargingACard:
    @pytest.mark.parametrize("number", ["4242424242424242", "5555555555554444", "2200000000000004", "6200000000000005"])
    def test_a_good_card_is_charged_at_once(self, charge_card, number):
        charge = charge_card(number)
        assert charge.status is charges.ChargeStatus.SUCCEEDED
        assert settlements_of(charge.id) == [("succeeded", None)]

    @pytest.mark.parametrize("number, code", [
        (number, outcome) for number, outcome in TEST_CARDS.items()
        if outcome in ("card_declined", "insufficient_funds", "processing_error")
    ])
    def test_a_declining_card_fails_with_its_reason(self, charge_card, number, code):
        charge = charge_card(number)
        assert (charge.status, charge.failure_code) == (charges.ChargeStatus.FAILED, code)
        assert settlements_of(charge.id) == [("failed", code)]

    def test_a_network_timeout_fails_the_charge_and_takes_nothing(self, charge_card, engine):
        charge = charge_card("4000000000000051")
        assert (charge.status, charge.failure_code) == (charges.ChargeStatus.FAILED, "connector_timeout")
        with engine.connect() as connection:
            recorded = connection.execute(sa.select(sandbox_operations).where(
                sandbox_operations.c.charge_id == charge.id)).all()
        assert recorded == []  # the acquirer never saw it

    def test_another_users_card_cannot_be_charged(self, client, make_holder, engine, settings, now):
        owner, thief = make_holder(), make_holder()
        card = client.post("/v1/me/cards", json=card_body(), headers=owner.headers).json()
        with pytest.raises(NotFound):
            charges.start_charge(engine, settings, user_id=thief.id, source=card["id"], amount=usd(100),
                                 purpose="cardtest:1", now=now)

    def test_an_unknown_source_is_refused(self, engine, settings, holder, now):
        with pytest.raises(InvalidCard):
            charges.start_charge(engine, settings, user_id=holder.id, source="bitcoin", amount=usd(100),
                                 purpose="cardtest:1", now=now)
        with pytest.raises(InvalidCard):
            charges.start_charge(engine, settings, user_id=holder.id, source="wallet:nosuch", amount=usd(100),
                                 purpose="cardtest:1", now=now)


class TestThreeDSecure:
    @pytest.mark.parametrize("number", ["4000000000003220", "5200000000001096"])
    def test_the_payer_approves_on_the_challenge_page_and_is_sent_back(self, charge_card, client, number):
        charge = charge_card(number)
        assert charge.status is charges.ChargeStatus.REQUIRES_ACTION
        assert charge.action_url.startswith(f"http://testserver/sandbox/sandbox_acquirer/{charge.id}?secret=")
        assert settlements_of(charge.id) == []
        page = client.get(charge.action_url)
        assert page.status_code == 200 and "$25.99" in page.text and "SANDBOX" in page.text
        done = client.post(charge.action_url, data={"outcome": "approve"}, follow_redirects=False)
        assert done.status_code == 303 and done.headers["location"] == "http://testserver/done"
        assert settlements_of(charge.id) == [("succeeded", None)]

    def test_a_failed_challenge_fails_the_charge_and_a_second_click_changes_nothing(self, charge_card, client):
        charge = charge_card("4000000000003220")
        client.post(charge.action_url, data={"outcome": "fail"}, follow_redirects=False)
        client.post(charge.action_url, data={"outcome": "approve"}, follow_redirects=False)
        assert settlements_of(charge.id) == [("failed", "authentication_failed")]

    def test_a_bad_outcome_on_the_page_is_a_400(self, charge_card, client):
        charge = charge_card("4000000000003220")
        assert client.post(charge.action_url, data={"outcome": "maybe"}).status_code == 400


class TestEWallets:
    @pytest.mark.parametrize("provider", ["alphapay", "betawallet"])
    def test_the_payer_approves_on_the_providers_page(self, client, engine, settings, holder, now, provider):
        charge = charges.start_charge(engine, settings, user_id=holder.id, source=f"wallet:{provider}",
                                      amount=Money(150_000, currency("IDR")), purpose="cardtest:2", now=now)
        assert charge.status is charges.ChargeStatus.REQUIRES_ACTION
        assert f"/sandbox/{provider}/{charge.id}?secret=" in charge.action_url
        client.post(charge.action_url, data={"outcome": "approve"})
        assert settlements_of(charge.id) == [("succeeded", None)]
