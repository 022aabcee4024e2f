"""Test mode as a marketplace engineer meets it: a real ``amanah serve`` in ``AMANAH_ENV=test`` with
its jobs on (``AMANAH_JOBS=auto``, the default), so that the invitation e-mail and the webhooks
arrive by themselves, as in production, without anyone calling the test clock."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import TypeVar

import httpx
import pytest

from tests.integration.mail.smtp_server import smtp_server, text_part
from tests.integration.webhooks.receiver import start_receiver

from .conftest import running_server

WAIT_S = 60
"""How long the test waits for the jobs' effects (they come within seconds; the bound only keeps
a broken server from hanging the suite)."""

T = TypeVar("T")


def eventually(what: str, found: Callable[[], T | None]) -> T:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if (value := found()) is not None:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {WAIT_S} s")


@pytest.fixture
def inbox():
    with smtp_server() as (inbox, port):
        yield inbox, port


@pytest.fixture
def receiver():
    receiver = start_receiver()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture
def jobs_on_server(fresh_database_url, tmp_path, vault_key_file, inbox):
    _, smtp_port = inbox
    with running_server(fresh_database_url, tmp_path, vault_key_file, AMANAH_JOBS="auto",
                        AMANAH_SMTP_URL=f"smtp://127.0.0.1:{smtp_port}", AMANAH_WEBHOOK_ALLOW_PRIVATE="true",
                        AMANAH_PASSWORD_HASHING="test") as server:
        yield server


def _platform_key(server) -> dict:
    created = server.amanah("platforms", "create", "E2E Shop")
    assert created.returncode == 0, created.stderr
    return {"Authorization": f"Bearer {created.stdout.strip()}"}


class TestTheJobsRunOnTheirOwnInTestMode:
    def test_a_paid_trade_sends_trade_held_and_the_buyer_gets_the_invitation_without_the_clock(
            self, jobs_on_server, inbox, receiver):
        api, messages = httpx.Client(base_url=jobs_on_server.url, timeout=30), inbox[0]
        shop = _platform_key(jobs_on_server)
        endpoint = api.post("/v1/webhook_endpoints", headers=shop,
                            json={"url": receiver.url, "events": ["trade.held"]})
        assert endpoint.status_code == 201, endpoint.text
        receiver.secret = endpoint.json()["secret"]
        seller = api.post("/v1/sellers", headers=shop, json={
            "platform_seller_id": "s-1", "email": "seller.e2e@example.com", "name": "Toko E2E"}).json()
        buyer_email = "buyer.e2e@example.com"
        trade = api.post("/v1/trades", headers=shop, json={
            "out_trade_no": "order-1", "seller_id": seller["id"], "amount": 2599, "currency": "USD",
            "buyer": {"platform_user_id": "b-1", "email": buyer_email}, "subject": "A teapot"})
        assert trade.status_code == 201, trade.text

        # The invitation arrives over SMTP by itself: the mail job ran in the server's own loop.
        invitation = eventually("the invitation e-mail", lambda: next(iter(messages.to(buyer_email)), None))
        token = re.search(r"/reset-password\?token=([\w\-]+)", text_part(invitation)).group(1)
        chosen = api.post("/v1/password-resets/confirm", json={"token": token, "new_password": "a long passphrase 1"})
        assert chosen.status_code == 200, chosen.text
        access = api.post("/v1/auth/token", json={"email": buyer_email, "password": "a long passphrase 1"})
        buyer = {"Authorization": f"Bearer {access.json()['access_token']}"}
        card = api.post("/v1/me/cards", headers=buyer, json={
            "number": "4242424242424242", "exp_month": 12, "exp_year": 2040, "cvc": "123", "holder_name": "Dewi"})
        assert card.status_code == 201, card.text
        paid = api.post(f"/v1/trades/{trade.json()['id']}/pay", headers=buyer, json={"source": card.json()["id"]})
        assert paid.status_code == 200, paid.text
        assert paid.json()["status"] == "held"

        # trade.held arrives, signed, at the shop's receiver, and nobody moved the clock.
        held = eventually("the trade.held delivery", lambda: next(iter(receiver.accepted()), None))
        assert held["type"] == "trade.held"
        assert held["data"]["id"] == trade.json()["id"]

    def test_the_suite_s_manual_setting_is_refused_outside_test_mode(self):
        from pydantic import ValidationError

        from amanah.core.config import Settings

        with pytest.raises(ValidationError, match="AMANAH_JOBS=manual"):
            Settings(env="production", jobs="manual")
