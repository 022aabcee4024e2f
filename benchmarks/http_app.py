"""The Amanah app as served, plus one trivial endpoint for the HTTP benchmark's floor.

``POST /bench/floor`` does what the framework must do for any request of ours — routing, our
middleware (request ids, metrics, idempotency's pass-through, the NUL guard), JSON in and out,
one transaction on the same engine — and one INSERT. The pay endpoint's rate against it says
what our own work per payment costs. Served by ``benchmarks/http_pay.py``; not part of the
product.
"""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import FastAPI, Request
from pydantic import BaseModel

from amanah.api.app import create_app
from amanah.core.db import run_in_transaction

floor_rows = sa.Table(
    "bench_floor", sa.MetaData(),
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("note", sa.String(100), nullable=False),
)


class FloorBody(BaseModel):
    note: str


def create() -> FastAPI:
    """The app; ``floor_rows`` must exist (``http_pay.py`` creates it before the workers start:
    two workers creating it at once collide in PostgreSQL's catalog)."""
    app = create_app()

    @app.post("/bench/floor", include_in_schema=False)
    def floor(body: FloorBody, request: Request) -> dict:
        engine = request.app.state.engine
        run_in_transaction(engine, lambda c: c.execute(floor_rows.insert().values(note=body.note)))
        return {"ok": True}

    return app
