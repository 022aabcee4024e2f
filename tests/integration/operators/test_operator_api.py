"""Operator keys and the operator endpoints, through the HTTP API."""

from __future__ import annotations

import pytest

from amanah.core.clock import clock
from amanah.core.db import run_in_transaction
from amanah.operators import service as operators


@pytest.fixture
def operator_key(engine) -> str:
    _operator, secret = run_in_transaction(engine, lambda c: operators.create_key(c, label="test", now=clock.now()))
    return secret


def auth(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


class TestLedgerVerificationEndpoint:
    def test_an_operator_sees_the_books_balance(self, client, operator_key):
        response = client.get("/v1/admin/ledger/verify", headers=auth(operator_key))
        assert response.status_code == 200
        body = response.json()
        assert body["ok"] is True and body["violations"] == []
        assert set(body) >= {"ok", "checked_transfers", "currencies"}

    def test_no_key_is_a_401_in_the_api_error_shape(self, client):
        response = client.get("/v1/admin/ledger/verify")
        assert response.status_code == 401
        assert response.json()["error"]["type"] == "authentication"

    def test_a_wrong_or_revoked_key_is_refused(self, client, engine, operator_key):
        assert client.get("/v1/admin/ledger/verify", headers=auth("ak_not-a-real-key")).status_code == 401
        key_id = run_in_transaction(engine, lambda c: operators.authenticate(c, operator_key)).key_id
        run_in_transaction(engine, lambda c: operators.revoke_key(c, key_id, now=clock.now()))
        assert client.get("/v1/admin/ledger/verify", headers=auth(operator_key)).status_code == 401

    def test_another_kind_of_key_is_refused(self, client):
        response = client.get("/v1/admin/ledger/verify", headers=auth("sk_platform_key"))
        assert response.status_code == 401
        assert "operator key" in response.json()["error"]["message"]


class TestTheTestClock:
    def test_advancing_the_clock_runs_the_due_jobs(self, client, operator_key):
        before = clock.now()
        response = client.post("/v1/test/clock/advance", json={"seconds": 3600}, headers=auth(operator_key))
        assert response.status_code == 200
        assert "ledger.expire_holds" in response.json()["jobs_run"]
        assert clock.now() - before >= __import__("datetime").timedelta(seconds=3600)

    def test_a_negative_advance_is_a_400(self, client, operator_key):
        response = client.post("/v1/test/clock/advance", json={"seconds": -1}, headers=auth(operator_key))
        assert response.status_code == 400
        assert response.json()["error"]["param"] == "seconds"

    def test_outside_test_mode_the_endpoint_does_not_exist(self, settings, engine, operator_key):
        from fastapi.testclient import TestClient

        from amanah.api.app import create_app

        production_like = settings.model_copy(update={"env": "development", "captcha": "image"})
        with TestClient(create_app(production_like)) as other:
            response = other.post("/v1/test/clock/advance", json={"seconds": 1}, headers=auth(operator_key))
        assert response.status_code == 404
