"""The ASGI application: ``create_app()`` builds it from settings (uvicorn calls it as a factory)."""

from __future__ import annotations

from contextlib import asynccontextmanager

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

import amanah
from amanah.api import errors, headers, idempotency, input_guard, observability, routers
from amanah.core import jobs
from amanah.core.config import Settings, load_settings
from amanah.core.db import create_engine
from amanah.core.migrate import pending_revisions


@asynccontextmanager
async def _lifespan(app: FastAPI):
    """Runs the background jobs beside the API, in test mode too (a marketplace building
    against it waits for its webhooks and e-mails as in production); ``AMANAH_JOBS=manual``
    leaves them to the test clock, for test suites that need every effect at a chosen moment."""
    runner = None
    if app.state.settings.serve_runs_jobs:
        runner = jobs.Runner(app.state.engine, app.state.settings)
        runner.start()
    yield
    if runner is not None:
        runner.stop()
    app.state.engine.dispose()
    observability.process_exiting()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    settings.ensure_data_dir()
    engine = create_engine(settings.resolved_database_url)
    app = FastAPI(
        lifespan=_lifespan,
        title="Amanah",
        version=amanah.__version__,
        summary="A self-hostable payment system for marketplaces: wallet, escrow, 14 currencies.",
        # The interactive reference is served from vendored files later; never from a CDN.
        docs_url=None,
        redoc_url=None,
        # Observability is ours (``api.observability``: /metrics, request ids). FastAPI's own
        # OpenTelemetry hooks, left on, looked for a configured provider on every request:
        # about 3% of a payment's CPU in the event loop (py-spy, issue #10).
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.engine = engine
    errors.install(app)
    idempotency.install(app)  # Idempotency-Key on every POST
    app.add_middleware(input_guard.RefuseNul)  # before idempotency reads the body
    observability.install(app)  # request ids, /metrics
    # Outermost, so that every answer gets them, the other middlewares' refusals included.
    app.add_middleware(headers.SecurityHeaders, base_url=settings.base_url)
    for router in routers.ALL:
        app.include_router(router)

    @app.get("/healthz", tags=["operations"], summary="The process is up")
    def healthz() -> dict:
        return {"status": "ok", "version": amanah.__version__}

    @app.get("/readyz", tags=["operations"], summary="The database answers and its schema is current")
    def readyz(request: Request) -> JSONResponse:
        try:
            with request.app.state.engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
            behind = pending_revisions(request.app.state.engine)
        except sa.exc.SQLAlchemyError:
            return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
        if behind:
            return JSONResponse({"status": "unavailable", "database": "schema not migrated"}, status_code=503)
        return JSONResponse({"status": "ok", "database": engine.dialect.name})

    # "/" is the web cabinet's home (amanah.web): the log-in page, or My account when signed in.

    return app
