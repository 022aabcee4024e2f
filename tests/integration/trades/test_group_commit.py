"""Money-moving requests with ``AMANAH_GROUP_COMMIT`` on: concurrent buyers' payments share
transactions, and each still gets its own answer — a buyer without the money is refused
without taking a neighbour's payment down with it; confirm and refund go through as alone."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from amanah.core.db import group_committer


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"group_commit": True, "connector_timeout_s": 0.05})


def test_concurrent_payments_share_commits_and_each_gets_its_own_answer(market):
    buyers = []
    for n in range(12):
        trade = market.open_trade(1000)
        buyer_id = trade["buyer"]["user_id"]
        if n % 4 != 3:  # every fourth buyer has no money
            market.fund(buyer_id, 1000)
        buyers.append((trade, market.token_for(buyer_id)))
    committer = group_committer(market.client.app.state.engine)  # the server's engine
    batches_before = committer.batches

    def pay(pair):
        trade, headers = pair
        return market.client.post(f"/v1/trades/{trade['id']}/pay", json={"source": "balance"}, headers=headers)

    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(pay, buyers))

    for n, answer in enumerate(answers):
        if n % 4 == 3:
            assert answer.status_code == 402, answer.text
            assert answer.json()["error"]["code"] == "insufficient_funds"
        else:
            assert answer.status_code == 200, answer.text
            assert answer.json()["status"] == "held"
    assert committer.batches > batches_before
    for n, (trade, _headers) in enumerate(buyers):
        assert market.wallet(trade["buyer"]["user_id"]).debits_pending == (0 if n % 4 == 3 else 1000)
    market.verify()


def test_confirm_and_refund_go_through_the_group_committer(market):
    committer = group_committer(market.client.app.state.engine)
    trade, buyer = market.paid_trade(2000)
    refund = market.client.post(f"/v1/trades/{trade['id']}/refunds", json={"amount": 500},
                                headers={**market.as_platform, "Idempotency-Key": "refund-1"})
    assert refund.status_code == 201, refund.text
    confirmed = market.client.post(f"/v1/trades/{trade['id']}/confirm", headers=buyer)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "completed"
    assert committer.batches >= 3  # pay, refund, confirm
    market.verify()


def test_keyed_payments_store_their_answers_with_their_own_unit(market):
    """Each payment stores its Idempotency-Key's answer in its own unit of the shared
    transaction: a buyer refused for want of money has its 402 stored by the middleware instead,
    and every repeat replays its own answer."""
    buyers = []
    for n in range(8):
        trade = market.open_trade(1000)
        if n % 4 != 3:
            market.fund(trade["buyer"]["user_id"], 1000)
        buyers.append((trade, market.token_for(trade["buyer"]["user_id"]) | {"Idempotency-Key": f"gc-{n}"}))

    def pay(pair):
        trade, headers = pair
        return market.client.post(f"/v1/trades/{trade['id']}/pay", json={"source": "balance"}, headers=headers)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(pay, buyers))
    repeats = [pay(pair) for pair in buyers]

    for n, (answer, repeat) in enumerate(zip(answers, repeats)):
        assert answer.status_code == (402 if n % 4 == 3 else 200), answer.text
        assert repeat.content == answer.content and repeat.headers["idempotent-replayed"] == "true"
    market.verify()
