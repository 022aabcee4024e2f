"""What an endpoint hears: ``["*"]`` (every event, today's and later ones), the ``ping`` a
platform sends itself to check its receiver, and the event catalogue with a sample per type."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from amanah.core.db import run_in_transaction
from amanah.platforms.webhooks import service as webhooks
from amanah.platforms.webhooks.models import endpoints, events
from tests.integration.trades.conftest import make_market
from tests.integration.webhooks.receiver import start_receiver


class TestSubscribingToEverything:
    def test_star_is_kept_as_it_is_and_shown_as_subscribed(self, client, platform, receiver):
        created = client.post("/v1/webhook_endpoints", headers=platform.headers,
                              json={"url": receiver.url, "events": ["*"]})
        assert created.status_code == 201, created.text
        assert created.json()["events"] == ["*"]
        shown = client.get(f"/v1/webhook_endpoints/{created.json()['id']}", headers=platform.headers)
        assert shown.status_code == 200
        assert shown.json()["events"] == ["*"]
        assert client.get("/v1/webhook_endpoints", headers=platform.headers).json()["data"][0]["events"] == ["*"]

    def test_star_beside_names_is_every_event(self, client, platform, receiver):
        created = client.post("/v1/webhook_endpoints", headers=platform.headers,
                              json={"url": receiver.url, "events": ["trade.held", "*"]})
        assert created.status_code == 201, created.text
        assert created.json()["events"] == ["*"]

    def test_every_event_type_reaches_a_star_endpoint_and_only_the_named_ones_another(
            self, platform, subscribe, emit, deliver, receiver):
        subscribe(["*"])
        only_held = start_receiver()
        try:
            subscribe(["trade.held"], to=only_held)
            for number, event_type in enumerate(webhooks.EVENT_TYPES):
                emit(platform.id, event_type, f"trd_star_{number}")
            deliver()
            # (different subjects: sent side by side, so in no particular order)
            assert sorted(payload["type"] for payload in receiver.accepted()) == sorted(webhooks.EVENT_TYPES)
            assert [payload["type"] for payload in only_held.accepted()] == ["trade.held"]
        finally:
            only_held.server.shutdown()
            only_held.server.server_close()

    def test_a_type_added_later_reaches_a_star_endpoint(self, engine, platform, subscribe, emit, deliver, receiver,
                                                        monkeypatch):
        # "Now and future": the list is stored as ["*"], not expanded to today's types.
        endpoint = subscribe(["*"])
        with engine.connect() as connection:
            stored = connection.execute(sa.select(endpoints.c.events).where(endpoints.c.id == endpoint["id"])).scalar()
        assert stored == ["*"]
        monkeypatch.setattr(webhooks, "EVENT_TYPES", (*webhooks.EVENT_TYPES, "trade.relabelled"))
        emit(platform.id, "trade.relabelled", "trd_future")
        deliver()
        assert [payload["type"] for payload in receiver.accepted()] == ["trade.relabelled"]


class TestPing:
    def test_the_endpoint_receives_a_signed_ping_whatever_it_subscribed_to(self, client, platform, subscribe,
                                                                           deliver, receiver):
        endpoint = subscribe(["trade.closed"])
        response = client.post(f"/v1/webhook_endpoints/{endpoint['id']}/test", headers=platform.headers)
        assert response.status_code == 201, response.text
        delivery = response.json()
        assert (delivery["event_type"], delivery["status"], delivery["endpoint_id"]) == \
            ("ping", "pending", endpoint["id"])
        deliver()
        [ping] = receiver.accepted()  # verified with the endpoint's secret by the receiver
        assert ping["type"] == "ping"
        assert ping["data"]["endpoint_id"] == endpoint["id"]
        assert receiver.received[0].headers["webhook-id"] == delivery["event_id"]
        listed = client.get(f"/v1/webhook_endpoints/{endpoint['id']}/deliveries", headers=platform.headers).json()
        assert [(item["id"], item["event_type"], item["status"]) for item in listed["data"]] == \
            [(delivery["id"], "ping", "succeeded")]

    def test_only_that_endpoint_hears_it(self, client, platform, subscribe, deliver, receiver):
        other = start_receiver()
        try:
            subscribe(["*"], to=other)
            endpoint = subscribe(["*"])
            assert client.post(f"/v1/webhook_endpoints/{endpoint['id']}/test",
                               headers=platform.headers).status_code == 201
            deliver()
            assert [payload["type"] for payload in receiver.accepted()] == ["ping"]
            assert other.received == []
        finally:
            other.server.shutdown()
            other.server.server_close()

    def test_another_platform_cannot_ping_an_endpoint_it_does_not_own(self, client, make_platform, subscribe,
                                                                      deliver, receiver):
        endpoint = subscribe()
        stranger = make_platform()
        response = client.post(f"/v1/webhook_endpoints/{endpoint['id']}/test", headers=stranger.headers)
        assert response.status_code == 404
        assert response.json()["error"]["type"] == "not_found"
        deliver()
        assert receiver.received == []

    def test_a_deleted_endpoint_is_not_found_and_a_disabled_one_is_a_409(self, client, engine, platform, subscribe):
        deleted, disabled = subscribe(), subscribe()
        assert client.delete(f"/v1/webhook_endpoints/{deleted['id']}", headers=platform.headers).status_code == 200
        assert client.post(f"/v1/webhook_endpoints/{deleted['id']}/test", headers=platform.headers).status_code == 404
        run_in_transaction(engine, lambda connection: connection.execute(endpoints.update().where(
            endpoints.c.id == disabled["id"]).values(status="disabled", disabled_reason="The endpoint answered 410 Gone.")))
        response = client.post(f"/v1/webhook_endpoints/{disabled['id']}/test", headers=platform.headers)
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "endpoint_disabled"

    def test_without_a_key_it_is_a_401(self, client, subscribe):
        endpoint = subscribe()
        assert client.post(f"/v1/webhook_endpoints/{endpoint['id']}/test").status_code == 401


def _shape(value):
    """The keys of nested objects, and the JSON kind of everything else (null matches anything)."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if value is None:
        return None
    return type(value).__name__


def _same_shape(sample, real) -> bool:
    if sample is None or real is None:
        return True
    if isinstance(sample, dict) and isinstance(real, dict):
        return sample.keys() == real.keys() and all(_same_shape(sample[key], real[key]) for key in sample)
    return sample == real


class TestTheEventCatalogue:
    def test_it_lists_every_type_with_a_description_and_a_sample_and_ping_last(self, client, platform):
        response = client.get("/v1/events/types", headers=platform.headers)
        assert response.status_code == 200, response.text
        listed = response.json()["data"]
        assert [item["type"] for item in listed] == [*webhooks.EVENT_TYPES, "ping"]
        assert [item["subscribable"] for item in listed] == [True] * len(webhooks.EVENT_TYPES) + [False]
        for item in listed:
            assert item["description"] and item["sample"]["type"] == item["type"]
            assert set(item["sample"]) == {"type", "timestamp", "data"}

    def test_it_needs_a_platform_key(self, client):
        assert client.get("/v1/events/types").status_code == 401

    def test_the_samples_have_the_shape_of_the_events_the_trades_really_send(self, client, engine):
        market = make_market(client, engine)
        completed, buyer = market.paid_trade()
        assert client.post(f"/v1/trades/{completed['id']}/ship", headers=market.as_platform,
                           json={"carrier": "DHL", "tracking_number": "JD1"}).status_code == 200
        assert client.post(f"/v1/trades/{completed['id']}/confirm", headers=buyer).status_code == 200
        assert client.post(f"/v1/trades/{completed['id']}/refunds", headers=market.as_platform,
                           json={"amount": 100, "reason": "scratched"}).status_code == 201
        disputed, buyer = market.paid_trade()
        assert client.post(f"/v1/trades/{disputed['id']}/dispute", headers=buyer,
                           json={"reason": "broken"}).status_code == 200
        assert client.post(f"/v1/trades/{disputed['id']}/dispute/resolve", headers=market.as_platform,
                           json={"outcome": "split", "buyer_amount": 1000}).status_code == 200
        closed = market.open_trade()
        assert client.post(f"/v1/trades/{closed['id']}/cancel", headers=market.as_platform).status_code == 200

        with engine.connect() as connection:
            rows = connection.execute(sa.select(events.c.type, events.c.payload).where(
                events.c.platform_id == market.platform_id).order_by(events.c.created_at)).all()
        real = {row.type: json.loads(row.payload) for row in rows}
        assert set(real) >= set(webhooks.EVENT_TYPES) - {"seller.activated"}, sorted(real)
        samples = {item["type"]: item["sample"] for item in client.get(
            "/v1/events/types", headers=market.as_platform).json()["data"]}
        for event_type, payload in real.items():
            assert _same_shape(_shape(samples[event_type]), _shape(payload)), \
                (event_type, _shape(samples[event_type]), _shape(payload))
