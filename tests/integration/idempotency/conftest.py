from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field

import pytest
from fastapi import Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from amanah.api.app import create_app
from tests.conftest import user_with_token


@dataclass
class Caller:
    id: str
    token: str

    def headers(self, key: str | None = None) -> dict:
        headers = {"Authorization": f"Bearer {self.token}"}
        return headers | ({"Idempotency-Key": key} if key else {})


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"connector_timeout_s": 0.05})


@pytest.fixture
def make_caller(engine):
    return lambda: Caller(*user_with_token(engine, "idem"))


@pytest.fixture
def caller(make_caller) -> Caller:
    return make_caller()


def new_key() -> str:
    return f"key-{secrets.token_hex(8)}"


def card_body(number: str = "4242 4242 4242 4242", **changes) -> dict:
    return {"number": number, "exp_month": 12, "exp_year": 2031, "cvc": "987", "holder_name": "Dewi Lestari",
            **changes}


@dataclass
class Probe:
    """A POST route whose behaviour the test controls: count the runs, hold one, fail one."""

    runs: int = 0
    gate: threading.Event | None = None
    entered: threading.Event = field(default_factory=threading.Event)
    fail_next: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def probe() -> Probe:
    return Probe()


@pytest.fixture
def probe_client(settings, engine, probe):
    app = create_app(settings)

    @app.post("/v1/probe/effects", status_code=201)
    async def make_effect(request: Request):
        body = await request.json()
        with probe.lock:
            probe.runs += 1
            run, fail = probe.runs, probe.fail_next
            probe.fail_next = False
        probe.entered.set()
        if probe.gate is not None:
            await _wait(probe.gate)
        if fail:
            raise RuntimeError("the probe failed on purpose")
        return JSONResponse({"run": run, "echo": body}, status_code=201, headers={"set-cookie": "x=1"})

    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


async def _wait(gate: threading.Event) -> None:
    from starlette.concurrency import run_in_threadpool

    assert await run_in_threadpool(gate.wait, 30), "the test never opened the gate"
