"""Request ids, JSON log lines and Prometheus metrics."""

from __future__ import annotations

import json
import logging

from amanah.api.observability import JSONFormatter, request_id


class TestRequestIds:
    def test_every_response_carries_a_request_id(self, client):
        response = client.get("/healthz")
        assert response.headers["x-request-id"].startswith("req_")

    def test_a_sane_id_from_the_caller_is_kept_and_a_strange_one_replaced(self, client):
        assert client.get("/healthz", headers={"X-Request-ID": "lb-7f3a9c21"}).headers["x-request-id"] == "lb-7f3a9c21"
        replaced = client.get("/healthz", headers={"X-Request-ID": "<script>"}).headers["x-request-id"]
        assert replaced.startswith("req_")


class TestMetrics:
    def test_requests_are_counted_by_route_template_and_status(self, client):
        client.get("/v1/trades/trd_does_not_exist")
        text = client.get("/metrics").text
        assert 'amanah_http_requests_total{method="GET",route="/v1/trades/{trade_id}",status="401"}' in text
        assert "amanah_http_request_seconds_bucket" in text


class TestJSONLogs:
    def test_a_log_line_is_one_json_object_with_the_request_id(self):
        token = request_id.set("req_test")
        try:
            record = logging.LogRecord("amanah.test", logging.INFO, __file__, 1, "paid %s", ("trd_1",), None)
            line = json.loads(JSONFormatter().format(record))
        finally:
            request_id.reset(token)
        assert line["message"] == "paid trd_1" and line["request_id"] == "req_test" and line["level"] == "info"
