"""Errors a client can act on: every error answer names its request (``X-Request-ID``, the 500
too), and says when to retry (``Retry-After``) where retrying is the remedy: a
429, and a 409 for an ``Idempotency-Key`` whose first request is still running."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from amanah.core import limits
from amanah.core.clock import clock
from tests.integration.users.conftest import GOOD_PASSWORD, register, unique_email

from .conftest import new_key


def _names_its_request(response) -> str:
    [rid] = response.headers.get_list("X-Request-ID")
    assert set(response.json()) == {"error"}
    return rid


class TestEveryErrorNamesItsRequest:
    def test_a_404_a_400_and_a_401_carry_the_id(self, client):
        for response in (client.get("/v1/nothing-here"),
                         client.post("/v1/auth/token", json={"email": 5}),
                         client.get("/v1/me")):
            assert response.status_code in (400, 401, 404), response.text
            assert _names_its_request(response).startswith("req_")

    def test_the_caller_s_own_request_id_comes_back_on_an_error(self, client):
        response = client.get("/v1/nothing-here", headers={"X-Request-ID": "shop-checkout-42"})
        assert _names_its_request(response) == "shop-checkout-42"

    def test_a_500_carries_it_too(self, probe_client, probe):
        probe.fail_next = True
        response = probe_client.post("/v1/probe/effects", json={}, headers={"X-Request-ID": "failing-1"})
        assert response.status_code == 500 and response.json()["error"]["type"] == "internal"
        assert _names_its_request(response) == "failing-1"

    def test_a_success_carries_the_header_and_no_error_body(self, client):
        response = client.get("/healthz")
        assert response.status_code == 200 and response.headers["X-Request-ID"].startswith("req_")


class TestRetryAfter:
    def test_a_409_for_a_key_still_in_flight_says_when_to_retry(self, probe_client, probe):
        key, gate = new_key(), threading.Event()
        probe.gate = gate
        with ThreadPoolExecutor(1) as pool:
            first = pool.submit(probe_client.post, "/v1/probe/effects", json={}, headers={"Idempotency-Key": key})
            assert probe.entered.wait(10)
            waiting = probe_client.post("/v1/probe/effects", json={}, headers={"Idempotency-Key": key})
            gate.set()
            assert first.result(10).status_code == 201
        assert waiting.status_code == 409
        assert waiting.json()["error"]["code"] == "idempotency_key_in_use"
        assert waiting.headers["Retry-After"] == str(limits.IDEMPOTENCY_IN_FLIGHT_RETRY_AFTER_S)
        _names_its_request(waiting)

    def test_every_429_of_the_log_in_says_when_to_retry_also_when_a_captcha_is_the_way(self, client):
        email = unique_email()
        register(client, email)
        for _ in range(limits.LOGIN_FAILURES_BEFORE_CAPTCHA):
            assert client.post("/v1/auth/token", json={"email": email, "password": "wrong"}).status_code == 401
        delayed = client.post("/v1/auth/token", json={"email": email, "password": GOOD_PASSWORD})
        assert delayed.status_code == 429 and int(delayed.headers["Retry-After"]) >= 1
        clock.advance(limits.LOGIN_DELAY_MAX_S + 1)
        needs_captcha = client.post("/v1/auth/token", json={"email": email, "password": GOOD_PASSWORD})
        assert needs_captcha.status_code == 429, needs_captcha.text
        assert needs_captcha.json()["error"]["code"] == "captcha_required"
        assert needs_captcha.headers["Retry-After"] == "0"  # at once, with a solved captcha
