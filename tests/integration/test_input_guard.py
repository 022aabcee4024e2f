"""NUL characters are refused at the door on every database (PostgreSQL cannot store them)."""

from __future__ import annotations

import pytest


class TestNulCharacters:
    @pytest.mark.parametrize("body", ['{"email": "a\\u0000@example.com", "password": "x", "name": "n"}',
                                      '{"email": "a@example.com", "password": "x", "name": "\\u0000"}'])
    def test_a_json_body_with_a_nul_is_a_400(self, client, body):
        response = client.post("/v1/users", content=body, headers={"content-type": "application/json",
                                                                    "Idempotency-Key": "nul-test"})
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "nul_character"

    def test_a_nul_in_the_path_or_query_is_a_400(self, client):
        assert client.get("/v1/trades/trd_%00x").status_code == 400
        assert client.get("/v1/fx/rates?base=US%00D").json()["error"]["code"] == "nul_character"

    def test_a_form_with_a_nul_is_a_400_but_a_percent_sign_in_json_is_fine(self, client):
        assert client.post("/sandbox/sandbox_acquirer/chg_x", content="outcome=%00",
                           headers={"content-type": "application/x-www-form-urlencoded"}).status_code == 400
        response = client.post("/v1/users", json={"email": "pct@example.com", "password": "a long enough pw 100%00",
                                                  "name": "Percent"})
        assert response.json().get("error", {}).get("code") != "nul_character"

    def test_a_nul_inside_an_unknown_key_is_still_refused_clearly(self, client):
        response = client.post("/v1/users", content='{"x\\u0000y": 1, "email": "a@example.com"}',
                               headers={"content-type": "application/json"})
        assert response.json()["error"]["code"] == "nul_character"

    def test_a_huge_body_is_a_413(self, client):
        response = client.post("/v1/users", content=b"{" + b" " * (1024 * 1024 + 1) + b"}",
                               headers={"content-type": "application/json"})
        assert response.status_code == 413
