"""Webhook endpoints through the HTTP API: adding, listing, deleting, and who sees what."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from amanah.api.app import create_app
from amanah.platforms.webhooks.service import EVENT_TYPES


class TestAddingAnEndpoint:
    def test_the_answer_shows_the_secret_once_in_the_standard_webhooks_format(self, client, platform, receiver):
        response = client.post("/v1/webhook_endpoints", headers=platform.headers,
                               json={"url": receiver.url, "events": ["trade.shipped", "trade.held", "trade.held"]})
        assert response.status_code == 201, response.text
        endpoint = response.json()
        assert endpoint["id"].startswith("whe_") and endpoint["status"] == "enabled"
        assert endpoint["events"] == ["trade.held", "trade.shipped"]
        assert endpoint["secret"].startswith("whsec_") and endpoint["created_at"].endswith("Z")
        listed = client.get("/v1/webhook_endpoints", headers=platform.headers).json()
        assert [item["id"] for item in listed["data"]] == [endpoint["id"]]
        assert "secret" not in listed["data"][0] and endpoint["secret"] not in str(listed)

    def test_the_event_list_is_the_one_of_the_api_reference(self):
        assert EVENT_TYPES == ("trade.held", "trade.shipped", "trade.completed", "trade.refunded",
                               "trade.disputed", "trade.dispute_resolved", "trade.closed", "seller.activated")

    @pytest.mark.parametrize("events", [[], ["trade.paid"], ["trade.*"], ["**"], ["ping"]])
    def test_unknown_or_no_events_are_a_400_naming_events(self, client, platform, receiver, events):
        response = client.post("/v1/webhook_endpoints", headers=platform.headers,
                               json={"url": receiver.url, "events": events})
        assert response.status_code == 400
        assert response.json()["error"]["param"].startswith("events")

    @pytest.mark.parametrize("url", ["ftp://example.com/hook", "example.com/hook", "https://", "http://user:pw@example.com/",
                                     "https://example.com:99999/"])
    def test_a_url_that_is_not_http_or_https_to_a_host_is_a_400(self, client, platform, url):
        response = client.post("/v1/webhook_endpoints", headers=platform.headers,
                               json={"url": url, "events": ["trade.held"]})
        assert response.status_code == 400, response.text
        assert response.json()["error"]["param"] == "url"

    def test_a_platform_key_is_needed(self, client, receiver):
        response = client.post("/v1/webhook_endpoints", json={"url": receiver.url, "events": ["trade.held"]})
        assert response.status_code == 401


class TestPrivateAddresses:
    @pytest.fixture
    def strict_client(self, settings, engine):
        with TestClient(create_app(settings.model_copy(update={"webhook_allow_private": False}))) as client:
            yield client

    @pytest.mark.parametrize("url", [
        "http://127.0.0.1:8080/hook", "http://localhost/hook", "https://10.1.2.3/hook", "http://192.168.0.10/",
        "http://172.16.5.4/", "http://169.254.169.254/latest/meta-data/", "http://[::1]/hook",
        "http://[fe80::1]/", "http://[::ffff:127.0.0.1]/", "http://100.64.0.1/", "http://0.0.0.0/",
    ])
    def test_loopback_private_and_link_local_addresses_are_refused(self, strict_client, platform, url):
        response = strict_client.post("/v1/webhook_endpoints", headers=platform.headers,
                                      json={"url": url, "events": ["trade.held"]})
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert (error["code"], error["param"]) == ("webhook_url_private", "url")
        assert "not a public address" in error["message"]

    def test_a_host_that_does_not_resolve_is_refused_with_its_name(self, strict_client, platform):
        response = strict_client.post("/v1/webhook_endpoints", headers=platform.headers,
                                      json={"url": "https://no-such-host.invalid/hook", "events": ["trade.held"]})
        assert response.status_code == 400
        assert "no-such-host.invalid" in response.json()["error"]["message"]


class TestEachPlatformSeesOnlyItsOwn:
    def test_another_platforms_endpoint_is_not_found(self, client, make_platform, subscribe):
        endpoint = subscribe()
        other = make_platform()
        assert client.get("/v1/webhook_endpoints", headers=other.headers).json()["data"] == []
        for method, path in [("GET", f"/v1/webhook_endpoints/{endpoint['id']}"),
                             ("DELETE", f"/v1/webhook_endpoints/{endpoint['id']}"),
                             ("GET", f"/v1/webhook_endpoints/{endpoint['id']}/deliveries")]:
            assert client.request(method, path, headers=other.headers).status_code == 404


class TestDeletingAnEndpoint:
    def test_a_deleted_endpoint_is_gone_and_gets_nothing_more(self, client, platform, subscribe, emit, deliver,
                                                               receiver):
        endpoint = subscribe()
        emit(platform.id, "trade.held", "trd_deleted_1")
        response = client.delete(f"/v1/webhook_endpoints/{endpoint['id']}", headers=platform.headers)
        assert response.json() == {"id": endpoint["id"], "deleted": True}
        emit(platform.id, "trade.held", "trd_deleted_2")
        deliver()
        assert receiver.accepted() == []
        assert client.get(f"/v1/webhook_endpoints/{endpoint['id']}", headers=platform.headers).status_code == 404
        assert client.get("/v1/webhook_endpoints", headers=platform.headers).json()["data"] == []
