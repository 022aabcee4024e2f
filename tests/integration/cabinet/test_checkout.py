"""Checkout shows the right money (issue 29): the source offered first can pay; the balance is
shown in the currency chosen; the result says what was charged, in which currency, at which
rate, and that the money waits in escrow (not "paid to the seller")."""

from __future__ import annotations

import html
import re

from amanah.core.clock import clock
from amanah.core.db import run_in_transaction
from amanah.fx import service as fx
from tests.integration.cabinet.conftest import browser_for


def _checked_source(page: str) -> str:
    return re.search(r'name="source" value="([^"]+)"[^>]*checked', page).group(1)


def _card(market, user_id: str) -> str:
    made = market.client.post("/v1/me/cards", headers=market.token_for(user_id), json={
        "number": "4242424242424242", "exp_month": 12, "exp_year": 2031, "cvc": "123", "holder_name": "Dewi"})
    assert made.status_code == 201, made.text
    return made.json()["id"]


class TestTheDefaultSource:
    def test_a_new_buyer_without_cards_is_offered_a_new_card_not_an_empty_balance(self, market):
        trade = market.open_trade(2599)
        buyer = browser_for(market, trade["buyer"]["user_id"])
        assert _checked_source(buyer.get(f"/checkout/{trade['id']}").text) == "new_card"

    def test_a_buyer_with_a_card_and_too_little_balance_is_offered_the_card(self, market):
        trade = market.open_trade(2599)
        market.fund(trade["buyer"]["user_id"], 2598)
        card = _card(market, trade["buyer"]["user_id"])
        buyer = browser_for(market, trade["buyer"]["user_id"])
        assert _checked_source(buyer.get(f"/checkout/{trade['id']}").text) == card

    def test_a_balance_that_holds_the_price_is_offered_first(self, market):
        trade = market.open_trade(2599)
        market.fund(trade["buyer"]["user_id"], 2599)
        _card(market, trade["buyer"]["user_id"])
        buyer = browser_for(market, trade["buyer"]["user_id"])
        assert _checked_source(buyer.get(f"/checkout/{trade['id']}").text) == "balance"


def test_the_balance_is_shown_in_the_currency_chosen_and_the_result_says_what_was_charged(market, engine):
    run_in_transaction(engine, lambda c: fx.load_sample_rates(c, now=clock.now()))
    trade = market.open_trade(35000000, currency="IDR")  # IDR 350,000.00
    market.fund(trade["buyer"]["user_id"], 10000, "USD")
    buyer = browser_for(market, trade["buyer"]["user_id"])
    page = buyer.get(f"/checkout/{trade['id']}").text
    assert "available: IDR" in html.unescape(page).replace("\xa0", " ")

    quote = buyer.get(f"/checkout/{trade['id']}/quote?pay_currency=USD")
    assert quote.status_code == 200
    shown = html.unescape(quote.text)
    assert 'id="balance-available"' in shown and 'hx-swap-oob="true"' in shown
    assert "available: $100.00" in shown  # the dollars the buyer has, not "IDR0.00"
    quote_id = re.search(r'name="quote_id" value="(qt_[^"]+)"', quote.text).group(1)

    form_key = re.search(r'name="form_key" value="([^"]+)"', page).group(1)
    paid = buyer.post(f"/checkout/{trade['id']}/pay", form_key=form_key, source="balance", pay_currency="USD",
                      quote_id=quote_id)
    assert paid.status_code == 303, paid.text[:500]
    result = html.unescape(buyer.get(paid.headers["location"]).text).replace("\xa0", " ")
    taken = 10000 - market.wallet(buyer.user_id).available
    dollars = f"${taken // 100}.{taken % 100:02d}"
    assert re.search(r"Charged</dt><dd[^>]*>" + re.escape(dollars), result), result
    assert "Your USD balance" in result
    assert re.search(r"1 USD = [\d,.]+ IDR", result)  # the pair as people quote it, not 1 IDR = 0.0000… USD
    assert "held in escrow" in result and "paid only when you confirm receipt" in result
    assert "You paid IDR" not in result
