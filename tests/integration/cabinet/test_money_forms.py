"""Every money form is safe to repeat (issue 29): the POST answers with a redirect to a page that
shows the outcome, and the key minted with the rendered form makes a repeat (a reload of the
POST, a double click, back and submit again) give that redirect again and do nothing more.

The attacks: sending one form twice, at once or one after the other; a key from one form on
another; a form without its key; another person's key."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from amanah.wallet.models import withdrawals
from tests.integration.cabinet.conftest import browser_for


def _card(market, user_id: str) -> str:
    response = market.client.post("/v1/me/cards", headers=market.token_for(user_id), json={
        "number": "4242424242424242", "exp_month": 12, "exp_year": 2031, "cvc": "123", "holder_name": "Siti Rahma"})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _withdrawals(market, user_id: str) -> list:
    with market.engine.connect() as connection:
        return connection.execute(sa.select(withdrawals.c.id, withdrawals.c.amount).where(
            withdrawals.c.user_id == user_id)).all()


def _person(market, funded: int = 5000):
    trade = market.open_trade(100)  # a buyer the marketplace registered
    user_id = trade["buyer"]["user_id"]
    if funded:
        market.fund(user_id, funded)
    return browser_for(market, user_id), _card(market, user_id)


class TestWithdraw:
    def test_the_form_sent_twice_withdraws_once_and_both_answers_show_that_withdrawal(self, market):
        person, card = _person(market)
        [key] = person.keys("/account/withdraw")
        first = person.post("/account/withdraw", form_key=key, amount="10.00", currency="USD", card_id=card)
        again = person.post("/account/withdraw", form_key=key, amount="10.00", currency="USD", card_id=card)
        assert first.status_code == again.status_code == 303
        assert first.headers["location"] == again.headers["location"]
        assert first.headers["location"].startswith("/account/withdraw/wdr_")
        assert len(_withdrawals(market, person.user_id)) == 1
        assert market.wallet(person.user_id).available == 4000
        shown = person.get(first.headers["location"])  # the reload of the result: a GET, harmless
        assert shown.status_code == 200 and "on its way" in shown.text
        assert person.get(first.headers["location"]).status_code == 200
        assert market.wallet(person.user_id).available == 4000

    def test_the_same_key_sent_with_another_amount_does_the_first_only(self, market):
        person, card = _person(market)
        [key] = person.keys("/account/withdraw")
        first = person.post("/account/withdraw", form_key=key, amount="10.00", currency="USD", card_id=card)
        changed = person.post("/account/withdraw", form_key=key, amount="20.00", currency="USD", card_id=card)
        assert changed.headers["location"] == first.headers["location"]
        assert [row.amount for row in _withdrawals(market, person.user_id)] == [1000]

    def test_two_clicks_at_once_withdraw_once(self, market):
        person, card = _person(market)
        [key] = person.keys("/account/withdraw")
        answers = []

        def click():
            answers.append(person.post("/account/withdraw", form_key=key, amount="10.00", currency="USD",
                                       card_id=card))

        clicks = [threading.Thread(target=click) for _ in range(2)]
        for thread in clicks:
            thread.start()
        for thread in clicks:
            thread.join()
        assert [answer.status_code for answer in answers] == [303, 303]
        assert len({answer.headers["location"] for answer in answers}) == 1
        assert len(_withdrawals(market, person.user_id)) == 1
        assert market.wallet(person.user_id).available == 4000

    def test_each_rendered_form_has_its_own_key_so_two_withdrawals_meant_are_two(self, market):
        person, card = _person(market)
        for _ in range(2):
            [key] = person.keys("/account/withdraw")
            assert person.post("/account/withdraw", form_key=key, amount="10.00", currency="USD",
                               card_id=card).status_code == 303
        assert len(_withdrawals(market, person.user_id)) == 2

    def test_a_form_without_its_key_or_with_a_key_of_another_form_does_nothing(self, market):
        person, card = _person(market)
        refused = person.post("/account/withdraw", amount="10.00", currency="USD", card_id=card)
        assert refused.status_code == 403 and "expired" in refused.text
        [key] = person.keys("/account/top-up")
        assert person.post("/account/top-up", form_key=key, amount="1.00", currency="USD",
                           source=card).status_code == 303
        reused = person.post("/account/withdraw", form_key=key, amount="10.00", currency="USD", card_id=card)
        assert reused.status_code == 403
        assert _withdrawals(market, person.user_id) == []
        assert market.wallet(person.user_id).available == 5100

    def test_a_refused_withdrawal_leaves_the_key_unused(self, market):
        person, card = _person(market, funded=500)
        [key] = person.keys("/account/withdraw")
        refused = person.post("/account/withdraw", form_key=key, amount="10.00", currency="USD", card_id=card)
        assert refused.status_code == 402 and 'name="form_key"' in refused.text  # the form again, a new key
        assert _withdrawals(market, person.user_id) == []
        market.fund(person.user_id, 1000)
        done = person.post("/account/withdraw", form_key=key, amount="10.00", currency="USD", card_id=card)
        assert done.status_code == 303 and len(_withdrawals(market, person.user_id)) == 1

    def test_another_persons_key_replays_nothing_of_theirs(self, market):
        victim, victim_card = _person(market)
        [key] = victim.keys("/account/withdraw")
        first = victim.post("/account/withdraw", form_key=key, amount="10.00", currency="USD", card_id=victim_card)
        intruder, intruder_card = _person(market)
        theirs = intruder.post("/account/withdraw", form_key=key, amount="10.00", currency="USD",
                               card_id=intruder_card)
        assert theirs.status_code == 303 and theirs.headers["location"] != first.headers["location"]
        assert intruder.get(first.headers["location"]).status_code == 404
        assert len(_withdrawals(market, victim.user_id)) == len(_withdrawals(market, intruder.user_id)) == 1


class TestTopUp:
    def test_the_form_sent_twice_tops_up_once(self, market):
        person, card = _person(market, funded=0)
        [key] = person.keys("/account/top-up")
        answers = [person.post("/account/top-up", form_key=key, amount="12.00", currency="USD", source=card)
                   for _ in range(2)]
        assert [a.status_code for a in answers] == [303, 303]
        assert answers[0].headers["location"] == answers[1].headers["location"]
        assert market.wallet(person.user_id).available == 1200


class TestTradeForms:
    def test_pay_from_the_balance_sent_twice_pays_once(self, market):
        trade = market.open_trade(1500)
        buyer = browser_for(market, trade["buyer"]["user_id"])
        market.fund(buyer.user_id, 4000)
        [key] = buyer.keys(f"/checkout/{trade['id']}")
        answers = [buyer.post(f"/checkout/{trade['id']}/pay", form_key=key, source="balance", pay_currency="USD")
                   for _ in range(2)]
        assert [a.status_code for a in answers] == [303, 303]
        assert {a.headers["location"] for a in answers} == {f"/checkout/{trade['id']}/result"}
        assert market.wallet(buyer.user_id).available == 2500

    def test_confirm_sent_twice_releases_once_and_the_second_answer_is_not_an_error(self, market):
        trade, _headers = market.paid_trade(2000)
        buyer = browser_for(market, trade["buyer"]["user_id"])
        confirm_key, _dispute_key = buyer.keys(f"/trades/{trade['id']}")
        answers = [buyer.post(f"/trades/{trade['id']}/confirm", form_key=confirm_key) for _ in range(2)]
        assert [a.status_code for a in answers] == [303, 303]
        assert {a.headers["location"] for a in answers} == {f"/trades/{trade['id']}?notice=confirmed"}
        seller = market.client.get(f"/v1/trades/{trade['id']}", headers=market.as_platform).json()
        assert seller["status"] == "completed"
        market.verify()

    def test_a_dispute_sent_twice_opens_one(self, market):
        trade, _headers = market.paid_trade(2000)
        buyer = browser_for(market, trade["buyer"]["user_id"])
        _confirm_key, dispute_key = buyer.keys(f"/trades/{trade['id']}")
        answers = [buyer.post(f"/trades/{trade['id']}/dispute", form_key=dispute_key, reason="It never came")
                   for _ in range(2)]
        assert [a.status_code for a in answers] == [303, 303]
        assert {a.headers["location"] for a in answers} == {f"/trades/{trade['id']}?notice=disputed"}

    def test_the_money_form_pages_may_be_kept_for_the_back_button_by_this_browser_only(self, market):
        person, _card_id = _person(market)
        for path in ("/account/withdraw", "/account/top-up"):
            assert person.get(path).headers["cache-control"] == "private, no-cache"
