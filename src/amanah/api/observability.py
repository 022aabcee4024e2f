"""Observability: a request id on every request and log line, JSON logs, Prometheus metrics.

- Every request gets an id (the caller's ``X-Request-ID`` if it is sane, else a new one),
  returned in the response header and attached to every log record made while serving it.
- ``configure_logging`` makes the root logger write one JSON object per line. Log lines carry
  what the code passes; nothing here logs bodies, headers or query strings (secrets live there).
- ``/metrics`` exposes request counts by route template and status, latency histograms, the
  ledger's committed transfers and batch sizes, webhook delivery outcomes (``core.metrics``)
  and the job queues' depth and lag, read from the database at scrape time
  (``reports.queues``: the same in every process).
- Several worker processes (``amanah serve --workers N``): ``PROMETHEUS_MULTIPROC_DIR`` names a
  directory where each process keeps its values (prometheus_client's multiprocess mode), and
  whichever worker answers ``/metrics`` sums them all. A worker marks itself dead on shutdown.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import re
import secrets
import time
from datetime import datetime, timezone

import sqlalchemy as sa
from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from amanah.core.clock import clock
from amanah.core.metrics import REGISTRY, multiprocess_dir

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
_REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._\-]{8,64}")

access_log = logging.getLogger("amanah.access")

REQUESTS = Counter("amanah_http_requests_total", "HTTP requests by route and status",
                   ["method", "route", "status"], registry=REGISTRY)
LATENCY = Histogram("amanah_http_request_seconds", "HTTP request latency by route", ["method", "route"],
                    registry=REGISTRY, buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))


class RequestContext:
    """Pure ASGI middleware (no body buffering): request id, metrics by route template."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        rid = offered if _REQUEST_ID_PATTERN.fullmatch(offered) else f"req_{secrets.token_hex(8)}"
        token = request_id.set(rid)
        started, status = time.perf_counter(), 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = message.setdefault("headers", [])
                if not any(name.lower() == b"x-request-id" for name, _ in headers):
                    message["headers"] = [*headers, (b"x-request-id", rid.encode())]
            await send(message)

        failed = False
        try:
            await self.app(scope, receive, send_with_id)
        except BaseException:
            failed = True
            raise
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            elapsed_s = time.perf_counter() - started
            REQUESTS.labels(scope["method"], route, str(status)).inc()
            LATENCY.labels(scope["method"], route).observe(elapsed_s)
            # The route template, never the raw path or query: links carry tokens there.
            access_log.info("%s %s %s %.1fms", scope["method"], route, status, elapsed_s * 1000)
            if not failed:
                # After an exception the id stays set: the 500 answer is made outside this
                # middleware (Starlette's ServerErrorMiddleware) and carries it too. The
                # request's own task context ends with it.
                request_id.reset(token)


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": request_id.get(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JSONFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


class _ThisProcess:
    """This process's own metrics, when it is the only process."""

    def collect(self):
        return REGISTRY.collect()


class _Queues:
    """The job queues' depth, due items and lag, read from the database at scrape time."""

    def __init__(self, engine) -> None:
        self.engine = engine

    def collect(self):
        from amanah.reports.queues import queue_states

        depth = GaugeMetricFamily("amanah_job_queue_depth", "Items waiting for a background job", labels=["queue"])
        due = GaugeMetricFamily("amanah_job_queue_due", "Items a background job should be working on now",
                                labels=["queue"])
        lag = GaugeMetricFamily("amanah_job_queue_lag_seconds", "How long the oldest due item has waited",
                                labels=["queue"])
        try:
            with self.engine.connect() as connection:
                states = queue_states(connection, now=clock.now())
        except sa.exc.SQLAlchemyError:
            logging.getLogger("amanah.metrics").warning("job queues not read: the database did not answer")
            states = []
        for state in states:
            depth.add_metric([state.name], state.depth)
            due.add_metric([state.name], state.due)
            lag.add_metric([state.name], state.lag_s)
        return [depth, due, lag]


def scrape(engine) -> bytes:
    """The text exposition of every metric: this process's (or, with several processes, all of
    theirs, summed from ``PROMETHEUS_MULTIPROC_DIR``) and the job queues."""
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_dir():
        MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(_Queues(engine))
    return generate_latest(registry)


def process_exiting() -> None:
    """A worker shutting down hands back its live gauges (multiprocess mode only)."""
    if multiprocess_dir():
        mark_process_dead(os.getpid())


def install(app: FastAPI) -> None:
    app.add_middleware(RequestContext)

    @app.get("/metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:
        return Response(scrape(request.app.state.engine), media_type=CONTENT_TYPE_LATEST)
