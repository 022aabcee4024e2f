"""Signatures made by the delivery are the ones the ``standardwebhooks`` library verifies."""

from __future__ import annotations

import base64
from datetime import datetime, timezone

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from amanah.platforms.webhooks.delivery import signed_headers
from amanah.platforms.webhooks.outbox import Claimed
from amanah.platforms.webhooks.service import new_secret


def claimed(secret: str, payload: str = '{"type":"trade.held","timestamp":"2026-01-01T00:00:00Z","data":{}}') -> Claimed:
    return Claimed("whd_x", 1, "whe_x", "https://shop.example/", secret, "evt_01ABC", payload)


class TestSigning:
    def test_a_new_secret_is_whsec_and_32_random_bytes_in_base64(self):
        secret = new_secret()
        assert secret.startswith("whsec_") and len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
        assert new_secret() != secret

    def test_the_library_verifies_our_headers_and_returns_the_payload(self):
        secret = new_secret()
        item = claimed(secret)
        headers = signed_headers(item, datetime.now(timezone.utc))
        assert headers["webhook-id"] == "evt_01ABC"
        assert Webhook(secret).verify(item.payload, headers)["type"] == "trade.held"

    def test_another_secret_or_a_changed_body_fails_verification(self):
        item = claimed(new_secret())
        headers = signed_headers(item, datetime.now(timezone.utc))
        with pytest.raises(WebhookVerificationError):
            Webhook(new_secret()).verify(item.payload, headers)
        with pytest.raises(WebhookVerificationError):
            Webhook(item.secret).verify(item.payload.replace("held", "shipped"), headers)
