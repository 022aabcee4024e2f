"""FastAPI dependencies shared by every router: settings, the engine, the clock.

They are ``async def`` because they do no I/O: FastAPI runs a plain ``def`` dependency in its
thread pool, and each such hop cost about half a millisecond of a payment's ~10 here (measured
in-process). Code that wants the time outside a dependency calls ``clock.now()``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from fastapi import Request
from sqlalchemy.engine import Connection, Engine

from amanah.core.clock import clock
from amanah.core.config import Settings
from amanah.core.db import run_in_transaction

T = TypeVar("T")


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_engine(request: Request) -> Engine:
    return request.app.state.engine


async def get_now() -> datetime:
    return clock.now()


def run_money_movement(engine: Engine, settings: Settings, work: Callable[[Connection], T]) -> T:
    """A money-moving request's unit of work; with ``AMANAH_GROUP_COMMIT`` on, it shares one
    transaction and one commit with concurrent requests' units (a savepoint each)."""
    return run_in_transaction(engine, work, group=settings.group_commit)
