"""Paying with an Idempotency-Key: the pay endpoint claims its keys itself (``idempotency.Claim``).
On PostgreSQL the fast path's one statement records the key with its answer
(``idempotency.recorded_with``), so that the payment and the answer a retry gets are committed
together; a key already there makes it write nothing, and the key decides (a repeat, another
request, one still running). What the fast path leaves to the transaction is claimed first, as
the middleware claims any key; what is answered before (a refused credential, an invalid
body) is judged by the middleware afterwards. The pay endpoint writes its answer itself, as
FastAPI would."""

from __future__ import annotations

import json
import threading
import time

import pytest
import sqlalchemy as sa

from amanah.api import idempotency
from amanah.core.errors import CommitOutcomeUnknown, DatabaseUnavailable
from amanah.trades import service as trades
from amanah.trades.models import trades as trades_table
from tests.integration.trades.test_concurrency import race


@pytest.fixture
def market(market):
    """A market whose first payment has been made (it opens the seller's wallet)."""
    market.paid_trade(1500)
    return market


def payable(market, funds: int = 1500) -> tuple[str, dict]:
    trade = market.open_trade(1500)
    market.fund(trade["buyer"]["user_id"], funds)
    return trade["id"], market.token_for(trade["buyer"]["user_id"])


def pay(market, trade_id: str, headers: dict, key: str):
    return market.client.post(f"/v1/trades/{trade_id}/pay", json={"source": "balance"},
                              headers=headers | {"Idempotency-Key": key})


def buyer_of(market, trade_id: str) -> str:
    return market.client.get(f"/v1/trades/{trade_id}", headers=market.as_platform).json()["buyer"]["user_id"]


def kept(market, key: str) -> dict:
    with market.engine.connect() as connection:
        return connection.execute(sa.select(idempotency.keys).where(idempotency.keys.c.key == key)).one()._asdict()


def held_transfers(market, trade_id: str) -> int:
    from amanah.ledger.models import transfers

    with market.engine.connect() as connection:
        return connection.execute(sa.select(sa.func.count()).select_from(transfers)
                                  .where(transfers.c.reference == trade_id)).scalar_one()


def written_about(market, trade_id: str) -> dict:
    from amanah.platforms.webhooks.models import events

    with market.engine.connect() as connection:
        status = connection.execute(sa.select(trades_table.c.status).where(trades_table.c.id == trade_id)).scalar_one()
        count = connection.execute(sa.select(sa.func.count()).select_from(events)
                                   .where(events.c.subject_id == trade_id)).scalar_one()
    return {"transfers": held_transfers(market, trade_id), "events": count, "status": status}


def test_the_answer_is_what_fastapi_writes_for_the_trade(market):
    trade_id, buyer = payable(market)

    paid = market.client.post(f"/v1/trades/{trade_id}/pay", json={"source": "balance"}, headers=buyer)
    shown = market.client.get(f"/v1/trades/{trade_id}", headers=buyer)

    assert paid.status_code == 200 and paid.headers["content-type"] == "application/json", paid.text
    assert paid.content == shown.content  # GET's body is FastAPI's own serialization of the same model


class TestOnEitherDatabase:
    def test_a_repeat_replays_the_payment_and_another_request_with_the_key_is_refused(self, market):
        trade_id, buyer = payable(market)
        other_id, _ = payable(market)

        first = pay(market, trade_id, buyer, "pay-key-1")
        again = pay(market, trade_id, buyer, "pay-key-1")
        other = pay(market, other_id, buyer, "pay-key-1")

        assert first.status_code == 200 and "idempotent-replayed" not in first.headers, first.text
        assert again.status_code == 200 and again.content == first.content
        assert again.headers["idempotent-replayed"] == "true"
        assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_key_reused", other.text
        assert held_transfers(market, trade_id) == 1 and held_transfers(market, other_id) == 0
        market.verify()

    def test_the_long_way_stores_the_answer_in_the_paying_transaction(self, market, monkeypatch):
        """The process may die between the payment's COMMIT and the middleware storing the
        answer: here the middleware's store is never called, yet the key holds the answer."""
        trade_id, buyer = payable(market)
        stores = []
        monkeypatch.setattr(trades, "pay_from_balance_at_once", lambda *_args, **_kwargs: None)
        monkeypatch.setattr(idempotency, "finish", lambda *args: stores.append(args))

        first = pay(market, trade_id, buyer, "pay-long-1")
        row = kept(market, "pay-long-1")
        again = pay(market, trade_id, buyer, "pay-long-1")

        assert first.status_code == 200 and first.json()["status"] == "held", first.text
        assert stores == [] and (row["response_status"], row["response_body"], row["lease_token"]) == (200, first.content, None)
        assert again.content == first.content and again.headers["idempotent-replayed"] == "true"
        assert held_transfers(market, trade_id) == 1
        market.verify()

    def test_an_answer_given_before_the_key_was_looked_at_is_judged_afterwards(self, market):
        """An invalid body is refused before the endpoint runs: its answer is stored, as the
        middleware stores any; a refused credential's is not (it owns no key)."""
        trade_id, buyer = payable(market)
        bad = {"source": "balance", "pay_currency": "dollars"}
        url = f"/v1/trades/{trade_id}/pay"

        invalid = market.client.post(url, json=bad, headers=buyer | {"Idempotency-Key": "pay-key-2"})
        invalid_again = market.client.post(url, json=bad, headers=buyer | {"Idempotency-Key": "pay-key-2"})
        refused = market.client.post(url, json={"source": "balance"},
                                     headers={"Authorization": "Bearer nope", "Idempotency-Key": "pay-key-3"})

        assert invalid.status_code == 400 and "idempotent-replayed" not in invalid.headers, invalid.text
        assert invalid_again.status_code == 400 and invalid_again.headers["idempotent-replayed"] == "true"
        assert refused.status_code == 401
        with market.engine.connect() as connection:
            assert connection.execute(sa.select(sa.func.count()).select_from(idempotency.keys)
                                      .where(idempotency.keys.c.key == "pay-key-3")).scalar_one() == 0
        assert held_transfers(market, trade_id) == 0

    def test_a_repeat_with_a_token_revoked_since_is_a_401_not_the_payment_replayed(self, market):
        """The fast path's read refuses the token (on PostgreSQL), or ``authenticate`` does; the
        middleware then judges the key, and gives the stored answer only to a current token."""
        trade_id, buyer = payable(market)
        first = pay(market, trade_id, buyer, "pay-key-4")
        assert market.client.post("/v1/auth/logout", headers=buyer).status_code == 204
        again = pay(market, trade_id, buyer, "pay-key-4")

        assert first.status_code == 200, first.text
        assert again.status_code == 401 and again.json()["error"]["code"] == "invalid_token", again.text
        assert "idempotent-replayed" not in again.headers
        assert held_transfers(market, trade_id) == 1


@pytest.mark.postgres_only
class TestStoredByThePaymentsOwnStatement:
    def test_the_key_holds_the_answer_sent_and_a_repeat_replays_it(self, market):
        trade_id, buyer = payable(market)

        first = pay(market, trade_id, buyer, "pay-stored-1")
        row = kept(market, "pay-stored-1")
        again = pay(market, trade_id, buyer, "pay-stored-1")

        assert first.status_code == 200 and first.json()["status"] == "held", first.text
        assert (row["response_status"], row["response_body"], row["lease_token"]) == (200, first.content, None)
        assert row["response_headers"] == [["content-type", "application/json"]]
        assert again.status_code == 200 and again.content == first.content
        assert again.headers["idempotent-replayed"] == "true"
        assert held_transfers(market, trade_id) == 1
        market.verify()

    def test_a_payment_whose_connection_was_lost_after_its_write_is_answered_from_the_key(self, market, monkeypatch):
        """The write committed, then the connection went (the outcome unknown). The key was
        recorded with the payment, so the endpoint finds it and answers with the payment's
        answer, instead of a 503 and then a 409 until the lease ends."""
        trade_id, buyer = payable(market)
        made = trades.pay_from_balance_at_once

        def committed_then_lost(*args, **kwargs):
            made(*args, **kwargs)
            raise CommitOutcomeUnknown("The connection was lost after the write (a test).")

        monkeypatch.setattr(trades, "pay_from_balance_at_once", committed_then_lost)
        lost = pay(market, trade_id, buyer, "pay-stored-2")
        monkeypatch.undo()
        retry = pay(market, trade_id, buyer, "pay-stored-2")

        assert lost.status_code == 200 and lost.json()["status"] == "held", lost.text
        assert lost.headers["idempotent-replayed"] == "true"  # it is the answer recorded with the payment
        assert retry.status_code == 200 and retry.content == lost.content, retry.text
        assert retry.headers["idempotent-replayed"] == "true"
        assert held_transfers(market, trade_id) == 1
        market.verify()

    def test_a_connection_lost_before_the_write_committed_pays_once_the_long_way(self, market, monkeypatch):
        """No key was recorded, so nothing was paid: the endpoint claims the key and pays in a
        transaction."""
        trade_id, buyer = payable(market)

        def lost_before(_engine, _trade_id, caller, *_args, **_kwargs):
            caller.judged(buyer_of(market, trade_id))  # the read found the caller, then the write's connection went
            raise CommitOutcomeUnknown("The connection was lost during the write (a test).")

        monkeypatch.setattr(trades, "pay_from_balance_at_once", lost_before)
        paid = pay(market, trade_id, buyer, "pay-stored-5")
        monkeypatch.undo()
        again = pay(market, trade_id, buyer, "pay-stored-5")

        assert paid.status_code == 200 and "idempotent-replayed" not in paid.headers, paid.text
        assert again.content == paid.content and again.headers["idempotent-replayed"] == "true"
        assert held_transfers(market, trade_id) == 1
        market.verify()

    def test_a_backend_cut_off_during_the_write_pays_once_the_long_way(self, market):
        """On the wire: the write waits for a lock on the trade's row and its backend is
        terminated there, so nothing of it, the key included, was committed; the endpoint finds no
        key, claims it and pays in a transaction once the lock is gone."""
        trade_id, buyer = payable(market)
        answers = []
        with market.engine.connect() as locker, locker.begin(), \
                market.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as watcher:
            locker.execute(sa.select(trades_table.c.id).where(trades_table.c.id == trade_id).with_for_update())
            paying = threading.Thread(target=lambda: answers.append(pay(market, trade_id, buyer, "pay-cut-1")))
            paying.start()
            deadline = time.monotonic() + 10
            while not watcher.execute(sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE wait_event_type = 'Lock' AND query LIKE 'WITH paid%'")).first():
                assert time.monotonic() < deadline, "the write never waited for the lock"
                time.sleep(0.01)
        paying.join(30)

        assert answers[0].status_code == 200 and "idempotent-replayed" not in answers[0].headers, answers[0].text
        assert held_transfers(market, trade_id) == 1
        assert pay(market, trade_id, buyer, "pay-cut-1").content == answers[0].content
        market.verify()

    def test_an_unknown_outcome_stays_unknown_when_the_key_cannot_be_read(self, market, monkeypatch):
        """The write's connection was lost and the database is still away: the answer says the
        outcome is unknown (not "nothing was changed"), and nothing is stored or claimed."""
        trade_id, buyer = payable(market)

        def lost(_engine, _trade_id, caller, *_args, **_kwargs):
            caller.judged(buyer_of(market, trade_id))  # the read found the caller, then the write's connection went
            raise CommitOutcomeUnknown("The connection was lost during the write (a test).")

        def away(*_args, **_kwargs):
            raise DatabaseUnavailable("The database is away (a test).")

        monkeypatch.setattr(trades, "pay_from_balance_at_once", lost)
        monkeypatch.setattr(idempotency, "begin", away)
        answer = pay(market, trade_id, buyer, "pay-stored-6")
        monkeypatch.undo()

        assert answer.status_code == 503 and answer.json()["error"]["code"] == CommitOutcomeUnknown.code, answer.text
        with market.engine.connect() as connection:
            assert connection.execute(sa.select(sa.func.count()).select_from(idempotency.keys)
                                      .where(idempotency.keys.c.key == "pay-stored-6")).scalar_one() == 0
        assert pay(market, trade_id, buyer, "pay-stored-6").status_code == 200

    def test_one_key_on_two_trades_at_once_pays_one_and_writes_nothing_of_the_other(self, market):
        for round_ in range(3):
            someone = {"platform_user_id": f"two-{round_}", "email": f"two.{round_}@example.com"}
            first, second = (market.open_trade(1500, buyer=someone)["id"] for _ in range(2))
            buyer_id = buyer_of(market, first)
            market.fund(buyer_id, 3000)
            buyer = market.token_for(buyer_id)

            answers = race(lambda: pay(market, first, buyer, f"pay-two-{round_}"),
                           lambda: pay(market, second, buyer, f"pay-two-{round_}"))

            codes = sorted(answer.status_code for answer in answers)
            assert codes in ([200, 409], [200, 422]), [answer.text for answer in answers]
            paid = next(answer for answer in answers if answer.status_code == 200).json()["id"]
            unpaid = second if paid == first else first
            assert written_about(market, paid) == {"transfers": 1, "events": 1, "status": "held"}
            assert written_about(market, unpaid) == {"transfers": 0, "events": 0, "status": "awaiting_payment"}
        market.verify()

    def test_the_same_key_sent_five_times_at_once_pays_once(self, market):
        for round_ in range(3):
            trade_id, buyer = payable(market)
            key = f"pay-race-{round_}"

            answers = race(*[lambda: pay(market, trade_id, buyer, key)] * 5)

            assert {answer.status_code for answer in answers} <= {200, 409}, [a.text for a in answers]
            paid = [answer for answer in answers if answer.status_code == 200]
            assert paid and all(answer.content == paid[0].content for answer in paid)
            assert all(answer.json()["error"]["code"] == "idempotency_key_in_use"
                       for answer in answers if answer.status_code == 409)
            assert held_transfers(market, trade_id) == 1
            assert pay(market, trade_id, buyer, key).content == paid[0].content
        market.verify()

    def test_what_the_fast_path_leaves_to_the_transaction_is_stored_by_the_middleware(self, market):
        short_id, short_buyer = payable(market, funds=1000)
        paid_id, paid_buyer = payable(market)
        assert market.client.post(f"/v1/trades/{paid_id}/pay", json={"source": "balance"},
                                  headers=paid_buyer).status_code == 200

        short = pay(market, short_id, short_buyer, "pay-stored-3")
        twice = pay(market, paid_id, paid_buyer, "pay-stored-4")

        assert short.status_code == 402 and short.json()["error"]["code"] == "insufficient_funds", short.text
        assert twice.status_code == 409, twice.text
        for key, answer in (("pay-stored-3", short), ("pay-stored-4", twice)):
            row = kept(market, key)
            assert (row["response_status"], json.loads(row["response_body"])) == (answer.status_code, answer.json())
            assert pay(market, short_id if key == "pay-stored-3" else paid_id,
                       short_buyer if key == "pay-stored-3" else paid_buyer, key).headers["idempotent-replayed"] == "true"
        assert held_transfers(market, short_id) == 0
