from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from amanah.core.clock import clock
from amanah.core.db import run_in_transaction
from amanah.core.errors import NotFound
from amanah.platforms import service as platforms
from amanah.platforms.webhooks import service as webhooks
from amanah.platforms.webhooks.jobs import deliver_due

from .receiver import Receiver, start_receiver

RUNS_MAX = 50
"""Job runs before a test gives up waiting for deliveries to settle."""


@dataclass
class PlatformKey:
    id: str
    secret: str

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.secret}"}


@pytest.fixture
def make_platform(engine, now):
    def make() -> PlatformKey:
        platform, secret = run_in_transaction(engine, lambda connection: platforms.create_platform(
            connection, name=f"Shop {secrets.token_hex(3)}", now=now))
        return PlatformKey(platform.id, secret)

    return make


@pytest.fixture
def platform(make_platform) -> PlatformKey:
    return make_platform()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = start_receiver()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture
def subscribe(client, receiver, platform, engine):
    """Adds the receiver as an endpoint of ``platform`` (all events unless told) and gives the
    receiver its secret; returns the endpoint as the API showed it. Deleted afterwards, so that
    no later test's receiver (which may get the same port) hears from it."""
    created: list[tuple[str, str]] = []

    def subscribe(events: list[str] | None = None, *, to: Receiver | None = None, key: PlatformKey | None = None):
        target, key = to or receiver, key or platform
        response = client.post("/v1/webhook_endpoints", headers=key.headers,
                               json={"url": target.url, "events": events or list(webhooks.EVENT_TYPES)})
        assert response.status_code == 201, response.text
        target.secret = response.json()["secret"]
        created.append((key.id, response.json()["id"]))
        return response.json()

    yield subscribe
    for platform_id, endpoint_id in created:
        try:
            run_in_transaction(engine, lambda connection: webhooks.delete_endpoint(
                connection, platform_id, endpoint_id, now=clock.now()))
        except NotFound:
            pass


@pytest.fixture
def emit(engine):
    def emit(platform_id: str, event_type: str, subject_id: str, **data) -> str:
        return run_in_transaction(engine, lambda connection: webhooks.emit(
            connection, platform_id=platform_id, event_type=event_type, subject_id=subject_id,
            data={"id": subject_id, **data}, now=clock.now()))

    return emit


@pytest.fixture
def deliver(engine, settings):
    """Runs the delivery job until nothing is due now (bounded)."""
    def deliver() -> int:
        total = 0
        for _ in range(RUNS_MAX):
            done = deliver_due(engine, settings, clock.now())
            if done == 0:
                return total
            total += done
        raise AssertionError("deliveries never settled")

    return deliver
