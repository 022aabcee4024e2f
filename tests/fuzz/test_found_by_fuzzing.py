"""Regression tests for what the fuzzer found, each small enough to read on its own."""

from __future__ import annotations

from datetime import timedelta

import pytest

from amanah.core.clock import clock


class TestTheOpenApiDocumentDescribesTheErrors:
    def test_no_operation_promises_fastapis_422_validation_shape(self, client):
        document = client.get("/openapi.json").json()
        assert "HTTPValidationError" not in document["components"]["schemas"]
        for path, operations in document["paths"].items():
            for method, operation in operations.items():
                validation = operation["responses"].get("422", {}).get("content", {})
                assert "HTTPValidationError" not in str(validation), f"{method} {path}"

    def test_every_operation_documents_bad_input_missing_credentials_and_the_error_shape(self, client):
        document = client.get("/openapi.json").json()
        assert document["components"]["schemas"]["Error"]["required"] == ["error"]
        for path, operations in document["paths"].items():
            for method, operation in operations.items():
                responses = operation["responses"]
                assert "default" in responses, f"{method} {path}"
                if operation.get("parameters") or operation.get("requestBody"):
                    assert "400" in responses, f"{method} {path}"
                if operation.get("security"):
                    assert "401" in responses, f"{method} {path}"

    def test_a_bad_request_matches_the_documented_error_shape(self, client):
        response = client.get("/v1/fx/rates", params={"base": "XXX"})
        assert response.status_code == 400
        assert set(response.json()["error"]) == {"type", "code", "message", "param"}


class TestDomainRefusalsCarryTheirOwnCode:
    """A schema-valid value refused by the domain has a code of its own, not the request
    validator's generic ``invalid_request`` (which would mean the document lied)."""

    def test_a_name_with_control_characters(self, client):
        response = client.post("/v1/users", json={"email": "ctl@example.com", "password": "Long enough pass 2049!",
                                                  "name": "Dewi\u0003"})
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_name"

    def test_rates_for_a_day_in_the_future(self, client):
        tomorrow = (clock.now() + timedelta(days=2)).date().isoformat()
        response = client.get("/v1/fx/rates", params={"date": tomorrow})
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "date_in_future"


class TestRefusalsTheStatefulFuzzerReached:
    """Found by following the OpenAPI links (tests/fuzz/test_stateful_fuzz.py): schema-valid
    requests on a trade or an endpoint the fuzzer had just made, refused with the validator's
    generic code. Each now has its own."""

    @pytest.fixture
    def market(self, client, engine):
        from tests.integration.trades.conftest import make_market

        return make_market(client, engine, name="Fuzzed Bazaar")

    def test_a_fee_given_both_ways(self, client, market):
        body = {"out_trade_no": "fee-both", "seller_id": market.seller["id"],
                "buyer": {"platform_user_id": "b-fee", "email": "fee.both@example.com"},
                "amount": 1000, "currency": "USD", "subject": "Lamp", "fee": {"bps": 100, "amount": 5}}
        response = client.post("/v1/trades", json=body, headers=market.as_platform)
        assert response.status_code == 400 and response.json()["error"]["code"] == "fee_ambiguous"

    def test_shipping_with_only_a_carrier(self, client, market):
        trade, _buyer = market.paid_trade(1000)
        response = client.post(f"/v1/trades/{trade['id']}/ship", json={"carrier": "DHL", "tracking_number": " "},
                               headers=market.as_platform)
        assert response.status_code == 400 and response.json()["error"]["code"] == "tracking_incomplete"

    def test_deliveries_after_a_delivery_of_another_endpoint(self, client, market):
        endpoint = client.post("/v1/webhook_endpoints", json={"url": "http://127.0.0.1:9/x", "events": ["trade.held"]},
                               headers=market.as_platform).json()
        response = client.get(f"/v1/webhook_endpoints/{endpoint['id']}/deliveries",
                              params={"starting_after": "whd_nope"}, headers=market.as_platform)
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_cursor"
