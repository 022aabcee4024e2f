"""The demo shop follows its orders through Amanah's signed webhooks."""

from __future__ import annotations

import base64
import json
import os
from datetime import datetime, timezone

import standardwebhooks
from fastapi.testclient import TestClient

from amanah.demo_shop.app import Orders, ShopConfig, create_app

SECRET = "whsec_" + base64.b64encode(os.urandom(24)).decode()


def signed(payload: dict, secret: str = SECRET) -> tuple[bytes, dict]:
    body = json.dumps(payload).encode()
    now = datetime.now(timezone.utc)
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(int(now.timestamp()))}
    headers["webhook-signature"] = standardwebhooks.Webhook(secret).sign("msg_1", now, body.decode())
    return body, headers


def test_a_signed_event_is_noted_on_the_order_and_a_forged_one_refused(tmp_path):
    config = ShopConfig("http://127.0.0.1:9", "sk_unused", tmp_path)
    (tmp_path / "shop_webhook.json").write_text(json.dumps({"id": "whe_x", "secret": SECRET}))
    Orders(tmp_path / "shop_orders.json").add("BZR-1", "buyer-1", "teapot")
    shop = TestClient(create_app(config))
    event = {"type": "trade.held", "timestamp": "2026-11-27T12:00:00Z",
             "data": {"out_trade_no": "BZR-1", "status": "held"}}
    body, headers = signed(event)
    assert shop.post("/webhooks/amanah", content=body, headers=headers).status_code == 200
    forged_body, forged_headers = signed(event, "whsec_" + base64.b64encode(os.urandom(24)).decode())
    assert shop.post("/webhooks/amanah", content=forged_body, headers=forged_headers).status_code == 400
    order = Orders(tmp_path / "shop_orders.json").of("buyer-1")[0]
    assert [e["type"] for e in order["events"]] == ["trade.held"]
