"""FastAPI dependencies shared by every router: settings, the engine, the clock."""

from __future__ import annotations

from datetime import datetime

from fastapi import Request
from sqlalchemy.engine import Engine

from amanah.core.clock import clock
from amanah.core.config import Settings


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


def get_now() -> datetime:
    return clock.now()
