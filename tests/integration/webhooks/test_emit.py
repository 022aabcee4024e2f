"""Emitting an event queues one delivery per enabled endpoint subscribed to it, in statements
that do not grow with the endpoints (one on PostgreSQL, two on SQLite)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from amanah.core.clock import clock
from amanah.core.db import run_in_transaction
from amanah.core.ids import has_prefix, new_id
from amanah.platforms.webhooks import service as webhooks
from amanah.platforms.webhooks.models import deliveries, endpoints, events
from tests.conftest import ON_POSTGRES


@pytest.fixture
def add_endpoint(engine):
    def add(platform_id: str, event_types: list[str], *, status: str = "enabled", deleted: bool = False) -> str:
        def work(connection):
            endpoint, _secret = webhooks.create_endpoint(connection, platform_id, url="http://127.0.0.1:9/hook",
                                                         event_types=event_types, allow_private=True,
                                                         now=clock.now())
            connection.execute(endpoints.update().where(endpoints.c.id == endpoint.id).values(
                status=status, deleted_at=clock.now() if deleted else None))
            return endpoint.id

        return run_in_transaction(engine, work)

    return add


def emit(engine, platform_id: str, event_type: str, subject_id: str = "trd_emit") -> str:
    return run_in_transaction(engine, lambda connection: webhooks.emit(
        connection, platform_id=platform_id, event_type=event_type, subject_id=subject_id, data={"id": subject_id},
        now=clock.now()))


def deliveries_of(engine, event_id: str) -> list:
    with engine.connect() as connection:
        return connection.execute(sa.select(deliveries).where(deliveries.c.event_id == event_id)
                                  .order_by(deliveries.c.seq)).all()


class TestWhoGetsTheEvent:
    def test_every_enabled_endpoint_subscribed_to_it_and_no_other(self, engine, platform, make_platform,
                                                                   add_endpoint):
        everything = add_endpoint(platform.id, list(webhooks.EVENT_TYPES))
        resolved_only = add_endpoint(platform.id, ["trade.dispute_resolved"])
        add_endpoint(platform.id, ["trade.disputed"])  # a name that "trade.dispute_resolved" begins with
        add_endpoint(platform.id, ["trade.held"])
        add_endpoint(platform.id, ["trade.dispute_resolved"], status="disabled")
        add_endpoint(platform.id, ["trade.dispute_resolved"], deleted=True)
        add_endpoint(make_platform().id, ["trade.dispute_resolved"])  # another platform's

        event_id = emit(engine, platform.id, "trade.dispute_resolved")

        queued = deliveries_of(engine, event_id)
        assert sorted(row.endpoint_id for row in queued) == sorted([everything, resolved_only])
        assert {(row.status, row.attempts, row.subject_id) for row in queued} == {("pending", 0, "trd_emit")}

    def test_with_no_endpoint_the_event_is_still_recorded(self, engine, platform):
        event_id = emit(engine, platform.id, "trade.held")

        with engine.connect() as connection:
            assert connection.execute(sa.select(events.c.type).where(events.c.id == event_id)).scalar() == "trade.held"
        assert deliveries_of(engine, event_id) == []


class TestDeliveryIds:
    def test_they_look_like_every_id_are_unique_and_sort_by_time(self, engine, platform, add_endpoint):
        for _ in range(3):
            add_endpoint(platform.id, ["trade.held"])
        made_before = new_id("whd")

        queued = deliveries_of(engine, emit(engine, platform.id, "trade.held"))

        ids = [row.id for row in queued]
        assert len(set(ids)) == 3 and all(has_prefix(delivery_id, "whd") for delivery_id in ids)
        assert all(delivery_id[:14] >= made_before[:14] for delivery_id in ids)  # the milliseconds part


def test_the_statements_do_not_grow_with_the_endpoints(engine, platform, add_endpoint):
    for _ in range(4):
        add_endpoint(platform.id, ["trade.shipped"])
    sent: list[str] = []

    def record(_connection, _cursor, statement, *_args):
        sent.append(" ".join(statement.split()[:3]))

    event.listen(engine, "before_cursor_execute", record)
    try:
        event_id = emit(engine, platform.id, "trade.shipped")
    finally:
        event.remove(engine, "before_cursor_execute", record)

    assert len(deliveries_of(engine, event_id)) == 4
    if ON_POSTGRES:
        assert sent == ["WITH recorded_event AS"], sent
    else:
        assert sent == ["BEGIN IMMEDIATE", "INSERT INTO webhook_events", "INSERT INTO webhook_deliveries"], sent
