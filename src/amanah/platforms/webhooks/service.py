"""Webhook use cases: emit an event (in the caller's transaction), manage endpoints, list and
resend deliveries. Sending lives in ``outbox`` (claims, outcomes) and ``delivery`` (HTTP)."""

from __future__ import annotations

import base64
import dataclasses
import decimal
import enum
import json
import secrets
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from amanah.core import limits
from amanah.core.db import UTCDateTime, is_sqlite
from amanah.core.errors import Conflict, InvalidRequest, NotFound
from amanah.core.ids import new_id
from amanah.platforms.webhooks import urls
from amanah.platforms.webhooks.events import ALL_EVENTS, EVENT_TYPES, PING, EventType
from amanah.platforms.webhooks.models import deliveries, endpoints, events

__all__ = ["EVENT_TYPES", "EventType", "emit", "create_endpoint", "list_endpoints", "delete_endpoint",
           "list_deliveries", "resend_delivery", "send_ping", "rfc3339"]

SECRET_PREFIX = "whsec_"


@dataclass(frozen=True)
class Endpoint:
    id: str
    url: str
    events: list[str]
    status: str
    disabled_reason: str | None
    created_at: datetime

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def rfc3339(moment: datetime) -> str:
    """``2026-11-27T10:00:00.123456Z``: the API's timestamp format."""
    return moment.isoformat().replace("+00:00", "Z")


def _json_default(value):
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, decimal.Decimal):
        return str(value)  # rates are decimal strings on the wire, never floats
    raise TypeError(f"cannot put {type(value).__name__} in a webhook payload")


def emit(connection: Connection, *, platform_id: str, event_type: str, subject_id: str, data: dict,
         now: datetime) -> str:
    """Records an event and queues it for every enabled endpoint of the platform subscribed to
    ``event_type``, in the caller's transaction; returns the event id (``evt_…``). One statement
    on PostgreSQL (the event's INSERT is a CTE of the deliveries' INSERT … SELECT), two on SQLite,
    however many endpoints there are.

    Deliveries about one ``subject_id`` go to each endpoint in the order of these calls: call it
    while holding the subject's row lock, so that this order is the order of the changes."""
    values = event_values(platform_id=platform_id, event_type=event_type, subject_id=subject_id, data=data, now=now)
    if is_sqlite(connection):  # no INSERT in a WITH clause
        connection.execute(_RECORD, values)
        connection.execute(_QUEUE, values)
    else:
        connection.execute(_RECORD_AND_QUEUE, values)
    return values["event_id"]


def _payload(event_type: str, data: dict, now: datetime) -> str:
    payload = json.dumps({"type": str(event_type), "timestamp": rfc3339(now), "data": data},
                         default=_json_default, separators=(",", ":"), ensure_ascii=False)
    assert len(payload.encode("utf-8")) <= limits.WEBHOOK_PAYLOAD_BYTES_MAX, "webhook payload too large"
    return payload


def event_values(*, platform_id: str, event_type: str, subject_id: str, data: dict, now: datetime) -> dict:
    """An event's new ids and payload, bound to ``emit``'s statements or to ``emitted_with``'s."""
    assert event_type in EVENT_TYPES, f"unknown event type {event_type!r}"
    payload = _payload(event_type, data, now)
    return {"event_id": new_id("evt"), "event_platform_id": platform_id, "event_type": str(event_type),
            "event_subject_id": subject_id, "event_payload": payload, "event_now": now,
            "event_subscribed": _subscribed_pattern(str(event_type)), "event_delivery_id_stem": new_id("whd")[:-2]}


def emitted_with(guard: sa.CTE) -> list[sa.CTE]:
    """PostgreSQL: ``emit`` as two CTEs (record, queue) for a statement of the caller's that
    writes the subject's change in its CTE ``guard`` (one row, or none): the event is recorded
    and queued when the guard wrote its row, and not at all when it wrote none. Bound by
    ``event_values``; add them with ``add_cte``."""
    recorded = events.insert().from_select(
        list(_EVENT_COLUMNS), sa.select(*_EVENT_COLUMNS.values()).select_from(guard),
    ).returning(events.c.id).cte("recorded_event")
    return [recorded, _queue_to_subscribers(endpoints.join(recorded, sa.true()), recorded.c.id).cte("queued")]


_PLACES = "".join(f"{place:02d}" for place in range(100))
"""``00`` to ``99``: a delivery id queued by ``emit`` is a new id (``new_id("whd")``: time then
randomness, so they sort by time) whose last two characters are replaced by the endpoint's place
in the platform's list, cut out of this text: two decimal digits, Crockford base32 characters
too, unique among the event's deliveries."""
assert limits.WEBHOOK_ENDPOINTS_PER_PLATFORM_MAX < len(_PLACES) // 2


def _subscribed_pattern(event_type: str) -> str:
    """``events`` holds a JSON list of names from ``EVENT_TYPES``, which JSON writes as they are,
    between double quotes: the quoted name is in the list's text exactly when it is in the list
    (on both databases; a platform has a few endpoints, read by the (platform_id, id) index).
    A LIKE pattern, escaped with ``/``. An endpoint whose list is ``["*"]`` gets every type
    (``_EVERY_EVENT``)."""
    quoted = json.dumps(event_type)
    return "%" + quoted.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"


_EVERY_EVENT = sa.literal("%" + json.dumps(ALL_EVENTS) + "%", sa.String)
"""``%"*"%``: the list of an endpoint subscribed to everything (``*`` is no LIKE wildcard)."""


def _queue_to_subscribers(source, event_id) -> sa.Insert:
    """``INSERT INTO webhook_deliveries … SELECT`` one pending delivery per enabled subscribed
    endpoint (ids: ``_PLACES``)."""
    # row_number() is a bigint on PostgreSQL, whose substr takes an integer
    place = sa.cast(sa.func.row_number().over(order_by=endpoints.c.id.desc()), sa.Integer) - 1
    delivery_id = sa.bindparam("event_delivery_id_stem", type_=sa.String).concat(
        sa.func.substr(sa.literal_column(f"'{_PLACES}'", sa.String), place * 2 + 1, 2))  # digits: safe inline
    now = sa.bindparam("event_now", type_=UTCDateTime)
    subscribed = sa.cast(endpoints.c.events, sa.Text)
    rows = (sa.select(delivery_id, endpoints.c.id, event_id, sa.bindparam("event_subject_id", type_=sa.String),
                      sa.literal("pending", sa.String), sa.literal(0), now, now)
            .select_from(source)
            .where(endpoints.c.platform_id == sa.bindparam("event_platform_id", type_=sa.String),
                   endpoints.c.deleted_at.is_(None), endpoints.c.status == "enabled",
                   sa.or_(subscribed.like(sa.bindparam("event_subscribed", type_=sa.String), escape="/"),
                          subscribed.like(_EVERY_EVENT)))
            .order_by(endpoints.c.id.desc()))
    return deliveries.insert().from_select(
        ["id", "endpoint_id", "event_id", "subject_id", "status", "attempts", "next_attempt_at", "created_at"], rows)


# Built once, bound per call: a statement built per call costs more Python than its round trip.
_EVENT_COLUMNS = {
    column: sa.bindparam(name, type_=type_) for column, name, type_ in (
        ("id", "event_id", sa.String), ("platform_id", "event_platform_id", sa.String), ("type", "event_type", sa.String),
        ("subject_id", "event_subject_id", sa.String), ("payload", "event_payload", sa.Text),
        ("created_at", "event_now", UTCDateTime))
}
"""An event's columns and the names ``event_values`` binds them by: all begin with ``event_``, so
that a statement of the caller's (``emitted_with``) can bind them beside its own (SQLAlchemy would
take a value named after a column of a table the statement updates for that column's new value)."""
_RECORD = events.insert().values(_EVENT_COLUMNS)
_QUEUE = _queue_to_subscribers(endpoints, sa.bindparam("event_id", type_=sa.String))
_recorded = _RECORD.returning(events.c.id).cte("recorded_event")
_RECORD_AND_QUEUE = _queue_to_subscribers(endpoints.join(_recorded, sa.true()), _recorded.c.id).add_cte(_recorded)


def _queue(connection: Connection, endpoint_id: str, event_id: str, subject_id: str, now: datetime) -> str:
    delivery_id = new_id("whd")
    connection.execute(deliveries.insert().values(
        id=delivery_id, endpoint_id=endpoint_id, event_id=event_id, subject_id=subject_id, status="pending",
        attempts=0, next_attempt_at=now, created_at=now))
    return delivery_id


def _endpoint(row) -> Endpoint:
    return Endpoint(row.id, row.url, list(row.events), row.status, row.disabled_reason, row.created_at)


def _active_endpoints(connection: Connection, platform_id: str, *, enabled_only: bool = True) -> list[Endpoint]:
    query = (sa.select(endpoints).where(endpoints.c.platform_id == platform_id, endpoints.c.deleted_at.is_(None))
             .order_by(endpoints.c.id.desc()))
    if enabled_only:
        query = query.where(endpoints.c.status == "enabled")
    return [_endpoint(row) for row in connection.execute(query)]


def _check_events(requested: list[str]) -> list[str]:
    if not requested:
        raise InvalidRequest("Subscribe to at least one event.", code="invalid_events", param="events")
    unknown = [name for name in requested if name not in EVENT_TYPES and name != ALL_EVENTS]
    if ALL_EVENTS in requested:
        return [ALL_EVENTS]  # everything, now and later; naming some types beside it adds nothing
    if unknown:
        raise InvalidRequest(f"Unknown event type {unknown[0]!r}; the events are {', '.join(EVENT_TYPES)}, "
                             f"or {ALL_EVENTS!r} for all.", code="invalid_events", param="events")
    return [name for name in EVENT_TYPES if name in requested]  # de-duplicated, in a stable order


def new_secret() -> str:
    """``whsec_`` + base64 of random bytes, the Standard Webhooks secret format."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(limits.WEBHOOK_SECRET_BYTES)).decode("ascii")


def create_endpoint(connection: Connection, platform_id: str, *, url: str, event_types: list[str],
                    allow_private: bool, now: datetime) -> tuple[Endpoint, str]:
    """A new endpoint and its signing secret (returned here only)."""
    chosen = _check_events(event_types)
    url = urls.check(url, allow_private=allow_private)
    if len(_active_endpoints(connection, platform_id, enabled_only=False)) >= limits.WEBHOOK_ENDPOINTS_PER_PLATFORM_MAX:
        raise Conflict(f"A platform has at most {limits.WEBHOOK_ENDPOINTS_PER_PLATFORM_MAX} webhook endpoints; "
                       "delete one first.", code="too_many_endpoints")
    endpoint_id, secret = new_id("whe"), new_secret()
    connection.execute(endpoints.insert().values(id=endpoint_id, platform_id=platform_id, url=url, events=chosen,
                                                 secret=secret, status="enabled", created_at=now))
    return Endpoint(endpoint_id, url, chosen, "enabled", None, now), secret


def list_endpoints(connection: Connection, platform_id: str) -> list[Endpoint]:
    return _active_endpoints(connection, platform_id, enabled_only=False)


def get_endpoint(connection: Connection, platform_id: str, endpoint_id: str) -> Endpoint:
    """The platform's own endpoint; another platform's, or a deleted one, is not found."""
    row = connection.execute(sa.select(endpoints).where(
        endpoints.c.id == endpoint_id, endpoints.c.platform_id == platform_id,
        endpoints.c.deleted_at.is_(None))).first()
    if row is None:
        raise NotFound(f"No webhook endpoint {endpoint_id}.")
    return _endpoint(row)


def delete_endpoint(connection: Connection, platform_id: str, endpoint_id: str, *, now: datetime) -> None:
    """Stops all sending to the endpoint; its history is kept but no longer shown."""
    get_endpoint(connection, platform_id, endpoint_id)
    connection.execute(endpoints.update().where(endpoints.c.id == endpoint_id).values(deleted_at=now))
    give_up_pending(connection, endpoint_id, "The endpoint was deleted.", now=now)


def give_up_pending(connection: Connection, endpoint_id: str, reason: str, *, now: datetime) -> None:
    connection.execute(deliveries.update().where(
        deliveries.c.endpoint_id == endpoint_id, deliveries.c.status == "pending",
    ).values(status="failed", last_error=reason, finished_at=now, claimed_until=None))


def _delivery_query():
    return (sa.select(deliveries, events.c.type.label("event_type"))
            .join(events, events.c.id == deliveries.c.event_id))


def delivery_to_dict(row) -> dict:
    return {"id": row.id, "endpoint_id": row.endpoint_id, "event_id": row.event_id, "event_type": row.event_type,
            "subject_id": row.subject_id, "status": row.status, "attempts": row.attempts,
            "next_attempt_at": row.next_attempt_at if row.status == "pending" else None,
            "last_attempt_at": row.last_attempt_at, "last_response_status": row.last_response_status,
            "last_error": row.last_error, "created_at": row.created_at, "finished_at": row.finished_at}


def list_deliveries(connection: Connection, platform_id: str, endpoint_id: str, *, limit: int,
                    starting_after: str | None = None) -> tuple[list[dict], bool]:
    """The endpoint's deliveries, newest first, keyset-paginated by emission order."""
    assert 1 <= limit <= limits.PAGE_LIMIT_MAX
    get_endpoint(connection, platform_id, endpoint_id)
    query = _delivery_query().where(deliveries.c.endpoint_id == endpoint_id)
    if starting_after is not None:
        after = connection.execute(sa.select(deliveries.c.seq).where(
            deliveries.c.id == starting_after, deliveries.c.endpoint_id == endpoint_id)).scalar()
        if after is None:
            raise InvalidRequest(f"No delivery {starting_after} of this endpoint.", code="invalid_cursor",
                                 param="starting_after")
        query = query.where(deliveries.c.seq < after)
    rows = connection.execute(query.order_by(deliveries.c.seq.desc()).limit(limit + 1)).all()
    return [delivery_to_dict(row) for row in rows[:limit]], len(rows) > limit


def resend_delivery(connection: Connection, platform_id: str, delivery_id: str, *, now: datetime) -> dict:
    """Queues the delivery's event again to the same endpoint, as a new delivery after every
    other one of its subject (the same ``webhook-id``, so a receiver can tell it is the same event)."""
    row = connection.execute(_delivery_query().join(endpoints, endpoints.c.id == deliveries.c.endpoint_id).where(
        deliveries.c.id == delivery_id, endpoints.c.platform_id == platform_id,
        endpoints.c.deleted_at.is_(None))).first()
    if row is None:
        raise NotFound(f"No webhook delivery {delivery_id}.")
    endpoint = get_endpoint(connection, platform_id, row.endpoint_id)
    if endpoint.status != "enabled":
        raise Conflict(f"The endpoint {endpoint.id} is disabled ({endpoint.disabled_reason}); create a new "
                       "endpoint to receive events again.", code="endpoint_disabled")
    new_delivery_id = _queue(connection, row.endpoint_id, row.event_id, row.subject_id, now)
    return delivery_to_dict(connection.execute(_delivery_query().where(deliveries.c.id == new_delivery_id)).one())


def send_ping(connection: Connection, platform_id: str, endpoint_id: str, *, now: datetime) -> dict:
    """Queues a signed ``ping`` event to this one endpoint, whatever it subscribed to, and returns
    its delivery: the delivery job sends it like any other (signature, retries, the deliveries
    list), so a platform sees its receiver work before the first trade. Its subject is the
    endpoint itself, so a ping neither waits for nor holds up the trades' events."""
    from amanah.platforms.webhooks.catalogue import ping_data

    endpoint = get_endpoint(connection, platform_id, endpoint_id)
    if endpoint.status != "enabled":
        raise Conflict(f"The endpoint {endpoint.id} is disabled ({endpoint.disabled_reason}); create a new "
                       "endpoint to receive events again.", code="endpoint_disabled")
    event_id = new_id("evt")
    connection.execute(events.insert().values(id=event_id, platform_id=platform_id, type=PING, subject_id=endpoint.id,
                                              payload=_payload(PING, ping_data(endpoint.id), now), created_at=now))
    delivery_id = _queue(connection, endpoint.id, event_id, endpoint.id, now)
    return delivery_to_dict(connection.execute(_delivery_query().where(deliveries.c.id == delivery_id)).one())
