"""The Idempotency-Key store must not answer before the caller is known: a request without
valid credentials is a 401, whatever key it carries (found by the fuzzer's ``ignored_auth``
check, which re-sends a request without credentials)."""

from __future__ import annotations

import secrets



def test_a_key_reused_with_a_wrong_credential_is_still_refused_as_unauthenticated(client):
    key = f"k-{secrets.token_hex(4)}"
    wrong = {"Authorization": "Bearer sk_not_a_real_key", "Idempotency-Key": key}
    first = client.post("/v1/trades", json={"anything": 1}, headers=wrong)
    assert first.status_code == 401, first.text
    response = client.post("/v1/sellers", json={"platform_seller_id": "s1", "email": "s1@example.com", "name": "S"},
                           headers=wrong)
    assert response.status_code == 401, response.text


def test_an_unauthenticated_request_with_a_fresh_key_is_refused_as_unauthenticated(client):
    response = client.post("/v1/sellers", json={"platform_seller_id": "s1", "email": "s1@example.com", "name": "S"},
                           headers={"Idempotency-Key": f"k-{secrets.token_hex(4)}"})
    assert response.status_code == 401, response.text

