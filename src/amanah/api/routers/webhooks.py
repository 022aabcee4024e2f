"""Webhook endpoints and deliveries of the calling platform (API.md, "Marketplace trades")."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine

from amanah.api.auth import require_platform
from amanah.api.deps import get_engine, get_now, get_settings
from amanah.api.links import links
from amanah.api.routing import Router
from amanah.core import limits
from amanah.core.config import Settings
from amanah.core.db import run_in_transaction
from amanah.platforms.service import Platform
from amanah.platforms.webhooks import service as webhooks
from amanah.platforms.webhooks import catalogue
from amanah.platforms.webhooks.events import ALL_EVENTS, DELIVERED_TYPES, EVENT_TYPES

router = Router(tags=["webhooks"])

Subscription = Literal[(ALL_EVENTS, *EVENT_TYPES)]
"""An event type, or ``*`` for every one (today's and any added later)."""
DeliveredType = Literal[DELIVERED_TYPES]


class EndpointCreate(BaseModel):
    url: str = Field(max_length=limits.WEBHOOK_URL_LENGTH_MAX,
                     description="https:// (or http://) URL on a public address.")
    events: list[Subscription] = Field(min_length=1, max_length=4 * len(EVENT_TYPES),
                                       description="The event types to receive, or `[\"*\"]` for every type, "
                                                   "including types added later.")


class EndpointOut(BaseModel):
    id: str
    url: str
    events: list[Subscription] = Field(description="The types it receives, as subscribed (`[\"*\"]`: all).")
    status: str = Field(description="`enabled`, or `disabled` after the endpoint answered 410 Gone.")
    disabled_reason: str | None = None
    created_at: datetime


class EndpointCreated(EndpointOut):
    secret: str = Field(description="The signing secret `whsec_…` (Standard Webhooks); shown only now.")


class EndpointList(BaseModel):
    data: list[EndpointOut]
    has_more: bool


class EndpointDeleted(BaseModel):
    id: str
    deleted: bool


class DeliveryOut(BaseModel):
    id: str
    endpoint_id: str
    event_id: str = Field(description="Also the `webhook-id` header: the same on every retry and resend.")
    event_type: DeliveredType
    subject_id: str = Field(description="The trade the event is about; deliveries about it arrive in order.")
    status: str = Field(description="`pending`, `succeeded` or `failed` (given up).")
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_response_status: int | None
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None


class DeliveryList(BaseModel):
    data: list[DeliveryOut]
    has_more: bool


class EventTypeOut(BaseModel):
    type: DeliveredType
    description: str
    subscribable: bool = Field(description="Whether `events` may name it (`ping` comes only from the test call).")
    sample: dict[str, Any] = Field(description="A body as the endpoint receives it: `{type, timestamp, data}` "
                                               "(made-up values, the real shape).")


class EventTypeList(BaseModel):
    data: list[EventTypeOut]
    has_more: bool


@router.post("/v1/webhook_endpoints", status_code=201, response_model=EndpointCreated,
             responses=links("endpoint_id", {
                 "GetEndpoint": ("GET", "/v1/webhook_endpoints/{endpoint_id}"),
                 "ListDeliveries": ("GET", "/v1/webhook_endpoints/{endpoint_id}/deliveries"),
                 "DeleteEndpoint": ("DELETE", "/v1/webhook_endpoints/{endpoint_id}")}),
             summary="Add a webhook endpoint (its signing secret is shown only in this answer)")
def create_endpoint(body: EndpointCreate, platform: Platform = Depends(require_platform),
                    engine: Engine = Depends(get_engine), settings: Settings = Depends(get_settings),
                    now: datetime = Depends(get_now)) -> dict:
    endpoint, secret = run_in_transaction(engine, lambda connection: webhooks.create_endpoint(
        connection, platform.id, url=body.url, event_types=[str(event) for event in body.events],
        allow_private=settings.webhook_allow_private, now=now))
    return {**endpoint.to_dict(), "secret": secret}


@router.get("/v1/webhook_endpoints", response_model=EndpointList, summary="The platform's webhook endpoints")
def list_endpoints(platform: Platform = Depends(require_platform), engine: Engine = Depends(get_engine)) -> dict:
    with engine.connect() as connection:
        found = webhooks.list_endpoints(connection, platform.id)
    return {"data": [endpoint.to_dict() for endpoint in found], "has_more": False}


@router.get("/v1/webhook_endpoints/{endpoint_id}", response_model=EndpointOut, summary="One webhook endpoint")
def get_endpoint(endpoint_id: str, platform: Platform = Depends(require_platform),
                 engine: Engine = Depends(get_engine)) -> dict:
    with engine.connect() as connection:
        return webhooks.get_endpoint(connection, platform.id, endpoint_id).to_dict()


@router.post("/v1/webhook_endpoints/{endpoint_id}/test", status_code=201, response_model=DeliveryOut,
             summary="Send a signed `ping` event to the endpoint (delivered like any event; follow it in its deliveries)")
def test_endpoint(endpoint_id: str, platform: Platform = Depends(require_platform),
                  engine: Engine = Depends(get_engine), now: datetime = Depends(get_now)) -> dict:
    return run_in_transaction(engine, lambda connection: webhooks.send_ping(connection, platform.id, endpoint_id,
                                                                           now=now))


@router.get("/v1/events/types", response_model=EventTypeList,
            summary="The event catalogue: every webhook event type, what it means, and a sample body")
def event_types(platform: Platform = Depends(require_platform)) -> dict:
    return {"data": catalogue.catalogue(), "has_more": False}


@router.delete("/v1/webhook_endpoints/{endpoint_id}", response_model=EndpointDeleted,
               summary="Delete a webhook endpoint (its pending deliveries are dropped)")
def delete_endpoint(endpoint_id: str, platform: Platform = Depends(require_platform),
                    engine: Engine = Depends(get_engine), now: datetime = Depends(get_now)) -> dict:
    run_in_transaction(engine, lambda connection: webhooks.delete_endpoint(connection, platform.id, endpoint_id,
                                                                          now=now))
    return {"id": endpoint_id, "deleted": True}


@router.get("/v1/webhook_endpoints/{endpoint_id}/deliveries", response_model=DeliveryList,
            summary="The endpoint's deliveries, newest first")
def list_deliveries(endpoint_id: str, limit: int = Query(limits.PAGE_LIMIT_DEFAULT, ge=1, le=limits.PAGE_LIMIT_MAX),
                    starting_after: str | None = Query(None, max_length=64, description="A delivery id."),
                    platform: Platform = Depends(require_platform), engine: Engine = Depends(get_engine)) -> dict:
    with engine.connect() as connection:
        found, has_more = webhooks.list_deliveries(connection, platform.id, endpoint_id, limit=limit,
                                                   starting_after=starting_after)
    return {"data": found, "has_more": has_more}


@router.post("/v1/webhook_deliveries/{delivery_id}/resend", status_code=201, response_model=DeliveryOut,
             summary="Send a delivery's event again (a new delivery, after the subject's others)")
def resend_delivery(delivery_id: str, platform: Platform = Depends(require_platform),
                    engine: Engine = Depends(get_engine), now: datetime = Depends(get_now)) -> dict:
    return run_in_transaction(engine, lambda connection: webhooks.resend_delivery(connection, platform.id,
                                                                                 delivery_id, now=now))
