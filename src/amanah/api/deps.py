"""FastAPI dependencies shared by every router: settings, the engine, the clock."""

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


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


def get_now() -> datetime:
    return clock.now()


def run_money_movement(engine: Engine, settings: Settings, work: Callable[[Connection], T]) -> T:
    """A money-moving request's unit of work; with ``AMANAH_GROUP_COMMIT`` on, it shares one
    transaction and one commit with concurrent requests' units (a savepoint each)."""
    return run_in_transaction(engine, work, group=settings.group_commit)
