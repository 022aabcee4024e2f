"""Delivering events to a real HTTP receiver that checks every signature with the
``standardwebhooks`` library: at least once, in order per trade, retried, given up, disabled."""

from __future__ import annotations

import base64
import socket

import pytest
import sqlalchemy as sa

from amanah.core import limits
from amanah.core.clock import clock
from amanah.core.db import run_in_transaction
from amanah.platforms.webhooks import outbox
from amanah.platforms.webhooks.models import deliveries

from .receiver import start_receiver

LONGEST_FIRST_RETRY_S = limits.WEBHOOK_RETRY_BACKOFF_FIRST_S * 2
LONGEST_RETRY_S = limits.WEBHOOK_RETRY_BACKOFF_MAX_S * 2


def trade_ids(payloads: list[dict]) -> list[tuple[str, str]]:
    return [(payload["data"]["id"], payload["type"]) for payload in payloads]


class TestAnEventIsDelivered:
    def test_it_arrives_signed_with_the_standard_webhooks_headers_and_shape(self, platform, subscribe, emit, deliver,
                                                                          receiver):
        subscribe()
        event_id = emit(platform.id, "trade.held", "trd_signed", amount=2599, currency="USD")
        deliver()
        [received] = receiver.received
        assert received.verified and received.headers["webhook-id"] == event_id
        assert received.headers["content-type"] == "application/json"
        assert received.payload["type"] == "trade.held" and received.payload["timestamp"].endswith("Z")
        assert received.payload["data"] == {"id": "trd_signed", "amount": 2599, "currency": "USD"}

    def test_only_subscribed_events_of_the_endpoints_own_platform_are_sent(self, platform, make_platform, subscribe,
                                                                           emit, deliver, receiver):
        subscribe(["trade.completed"])
        emit(platform.id, "trade.held", "trd_filter")
        emit(make_platform().id, "trade.completed", "trd_filter")
        emit(platform.id, "trade.completed", "trd_filter")
        deliver()
        assert trade_ids(receiver.accepted()) == [("trd_filter", "trade.completed")]

    def test_nothing_is_sent_when_the_change_that_emitted_it_rolls_back(self, engine, platform, subscribe, deliver,
                                                                        receiver):
        from amanah.platforms.webhooks import service as webhooks

        subscribe()

        def change_then_fail(connection):
            webhooks.emit(connection, platform_id=platform.id, event_type="trade.held", subject_id="trd_rollback",
                          data={}, now=clock.now())
            raise RuntimeError("the trade change failed")

        with pytest.raises(RuntimeError):
            run_in_transaction(engine, change_then_fail)
        deliver()
        assert receiver.received == []


class TestRetries:
    def test_a_500_is_retried_after_the_back_off_and_then_succeeds(self, client, platform, subscribe, emit, deliver,
                                                                     receiver):
        endpoint = subscribe()
        answers = iter([500])
        receiver.answer = lambda payload: next(answers, 200)
        emit(platform.id, "trade.shipped", "trd_retry")
        deliver()
        assert receiver.accepted() == [] and len(receiver.received) == 1
        [delivery] = client.get(f"/v1/webhook_endpoints/{endpoint['id']}/deliveries", headers=platform.headers).json()["data"]
        assert (delivery["status"], delivery["attempts"], delivery["last_response_status"]) == ("pending", 1, 500)
        assert delivery["next_attempt_at"] is not None
        clock.advance(LONGEST_FIRST_RETRY_S)
        deliver()
        assert trade_ids(receiver.accepted()) == [("trd_retry", "trade.shipped")]
        [delivery] = client.get(f"/v1/webhook_endpoints/{endpoint['id']}/deliveries", headers=platform.headers).json()["data"]
        assert (delivery["status"], delivery["attempts"], delivery["last_error"]) == ("succeeded", 2, None)

    def test_the_test_clock_endpoint_runs_the_retries(self, client, engine, now, platform, subscribe, emit, receiver):
        from amanah.operators import service as operators

        _operator, operator_key = run_in_transaction(engine, lambda c: operators.create_key(c, label="t", now=now))
        answers = iter([503])
        receiver.answer = lambda payload: next(answers, 200)
        subscribe()
        emit(platform.id, "trade.closed", "trd_test_clock")
        advance = {"seconds": LONGEST_FIRST_RETRY_S}
        headers = {"Authorization": f"Bearer {operator_key}"}
        assert client.post("/v1/test/clock/advance", json={"seconds": 0}, headers=headers).status_code == 200
        assert receiver.accepted() == []
        assert client.post("/v1/test/clock/advance", json=advance, headers=headers).status_code == 200
        assert trade_ids(receiver.accepted()) == [("trd_test_clock", "trade.closed")]

    def test_a_delivery_failing_for_about_three_days_is_given_up(self, client, platform, subscribe, emit, deliver,
                                                                  receiver):
        endpoint = subscribe()
        receiver.answer = lambda payload: 500
        emit(platform.id, "trade.held", "trd_give_up")
        started = clock.now()
        deliver()
        for _ in range(limits.WEBHOOK_ATTEMPTS_MAX + 5):
            clock.advance(LONGEST_RETRY_S)
            deliver()
        [delivery] = client.get(f"/v1/webhook_endpoints/{endpoint['id']}/deliveries", headers=platform.headers).json()["data"]
        assert (delivery["status"], delivery["attempts"]) == ("failed", limits.WEBHOOK_ATTEMPTS_MAX)
        assert len(receiver.received) == limits.WEBHOOK_ATTEMPTS_MAX
        assert delivery["finished_at"] is not None and delivery["next_attempt_at"] is None
        assert started < clock.now()

    def test_a_claim_of_a_worker_that_died_is_taken_again_after_the_lease(self, engine, platform, subscribe, emit,
                                                                          deliver, receiver):
        subscribe()
        emit(platform.id, "trade.held", "trd_lease")
        claimed = run_in_transaction(engine, lambda c: outbox.claim_due(c, now=clock.now()))
        assert "trd_lease" in str([item.payload for item in claimed])  # ... and this worker dies here
        deliver()
        assert receiver.received == []
        clock.advance(limits.WEBHOOK_CLAIM_LEASE_S)
        deliver()
        assert trade_ids(receiver.accepted()) == [("trd_lease", "trade.held")]


class TestGone:
    def test_an_endpoint_answering_410_is_disabled_and_its_queue_given_up(self, client, platform, subscribe, emit,
                                                                          deliver, receiver):
        endpoint = subscribe()
        receiver.answer = lambda payload: 410
        emit(platform.id, "trade.held", "trd_gone_1")
        emit(platform.id, "trade.shipped", "trd_gone_1")  # waits behind the first: never sent
        deliver()
        shown = client.get(f"/v1/webhook_endpoints/{endpoint['id']}", headers=platform.headers).json()
        assert shown["status"] == "disabled" and "410" in shown["disabled_reason"]
        emit(platform.id, "trade.held", "trd_gone_3")
        clock.advance(LONGEST_RETRY_S)
        deliver()
        assert len(receiver.received) == 1
        listed = client.get(f"/v1/webhook_endpoints/{endpoint['id']}/deliveries", headers=platform.headers).json()
        assert [item["status"] for item in listed["data"]] == ["failed", "failed"]
        resend = client.post(f"/v1/webhook_deliveries/{listed['data'][0]['id']}/resend", headers=platform.headers)
        assert resend.status_code == 409 and resend.json()["error"]["code"] == "endpoint_disabled"


class TestOrderPerTrade:
    def test_a_failing_event_holds_back_later_events_of_its_trade_only(self, platform, subscribe, emit, deliver,
                                                                       receiver):
        subscribe()
        failures = {"trd_order_a": 2}

        def answer(payload):
            trade = payload["data"]["id"]
            if payload["type"] == "trade.held" and failures.get(trade, 0) > 0:
                failures[trade] -= 1
                return 500
            return 200

        receiver.answer = answer
        for event_type in ("trade.held", "trade.shipped", "trade.completed"):
            emit(platform.id, event_type, "trd_order_a")
        emit(platform.id, "trade.held", "trd_order_b")
        deliver()
        assert trade_ids(receiver.accepted()) == [("trd_order_b", "trade.held")]
        for _ in range(4):
            clock.advance(LONGEST_FIRST_RETRY_S * 2)
            deliver()
        assert trade_ids(receiver.accepted()) == [("trd_order_b", "trade.held"), ("trd_order_a", "trade.held"),
                                                  ("trd_order_a", "trade.shipped"), ("trd_order_a", "trade.completed")]

    def test_events_arrive_in_emission_order_across_several_trades_and_endpoints(self, platform, subscribe, emit,
                                                                                 deliver, receiver):
        second = start_receiver()
        try:
            subscribe()
            subscribe(to=second)
            for round_ in range(3):
                for trade in ("trd_many_1", "trd_many_2"):
                    emit(platform.id, ("trade.held", "trade.shipped", "trade.completed")[round_], trade)
            deliver()
            for target in (receiver, second):
                for trade in ("trd_many_1", "trd_many_2"):
                    assert [t for s, t in trade_ids(target.accepted()) if s == trade] == [
                        "trade.held", "trade.shipped", "trade.completed"]
        finally:
            second.server.shutdown()
            second.server.server_close()


class TestDeliveriesList:
    def test_deliveries_are_listed_newest_first_a_page_at_a_time(self, client, platform, subscribe, emit, deliver):
        endpoint = subscribe()
        emitted = [emit(platform.id, "trade.held", f"trd_page_{n}") for n in range(5)]
        path = f"/v1/webhook_endpoints/{endpoint['id']}/deliveries"
        first = client.get(path, params={"limit": 2}, headers=platform.headers).json()
        second = client.get(path, params={"limit": 2, "starting_after": first["data"][-1]["id"]},
                            headers=platform.headers).json()
        last = client.get(path, params={"limit": 2, "starting_after": second["data"][-1]["id"]},
                          headers=platform.headers).json()
        seen = [item["event_id"] for page in (first, second, last) for item in page["data"]]
        assert seen == list(reversed(emitted))
        assert (first["has_more"], second["has_more"], last["has_more"]) == (True, True, False)
        assert client.get(path, params={"limit": 101}, headers=platform.headers).status_code == 400
        bad = client.get(path, params={"starting_after": "whd_nope"}, headers=platform.headers)
        assert bad.status_code == 400 and bad.json()["error"]["param"] == "starting_after"


class TestResend:
    def test_a_resent_delivery_arrives_again_with_the_same_webhook_id(self, client, platform, make_platform,
                                                                      subscribe, emit, deliver, receiver):
        endpoint = subscribe()
        event_id = emit(platform.id, "trade.refunded", "trd_resend", amount=100)
        deliver()
        [delivery] = client.get(f"/v1/webhook_endpoints/{endpoint['id']}/deliveries", headers=platform.headers).json()["data"]
        other = make_platform()
        assert client.post(f"/v1/webhook_deliveries/{delivery['id']}/resend", headers=other.headers).status_code == 404
        response = client.post(f"/v1/webhook_deliveries/{delivery['id']}/resend", headers=platform.headers)
        assert response.status_code == 201, response.text
        assert response.json()["id"] != delivery["id"] and response.json()["status"] == "pending"
        deliver()
        assert [item.headers["webhook-id"] for item in receiver.received] == [event_id, event_id]
        assert all(item.verified for item in receiver.received)


@pytest.mark.postgres_only
class TestSeveralWorkers:
    def test_two_workers_claiming_at_once_never_take_the_same_delivery(self, engine, platform, subscribe, emit):
        subscribe()
        for n in range(6):
            emit(platform.id, "trade.held", f"trd_workers_{n}")
        with engine.connect() as first, engine.connect() as second:
            with first.begin():
                taken_first = outbox.claim_due(first, now=clock.now(), limit=3)
                with second.begin():  # while the first worker's rows are still locked
                    taken_second = outbox.claim_due(second, now=clock.now(), limit=10)
        ids_first = {item.delivery_id for item in taken_first}
        ids_second = {item.delivery_id for item in taken_second}
        assert len(ids_first) == 3 and ids_first.isdisjoint(ids_second)
        with engine.connect() as connection:
            mine = connection.execute(sa.select(sa.func.count()).select_from(deliveries).where(
                deliveries.c.id.in_(ids_first | ids_second))).scalar()
        assert mine == len(ids_first | ids_second)


class TestTheReceiver:
    def test_a_request_whose_sender_went_away_mid_body_is_not_received(self, receiver):
        # as a killed delivering worker leaves it: the headers sent, the body only in part
        receiver.secret = "whsec_" + base64.b64encode(b"k" * 24).decode()
        host, port = receiver.server.server_address[:2]
        with socket.create_connection((host, port)) as sender:
            sender.sendall(b"POST /hooks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                           b"Content-Length: 40\r\n\r\n{\"type\": \"trade.")
            sender.shutdown(socket.SHUT_WR)
            assert sender.recv(100) == b""  # closed without an answer
        assert receiver.received == []
