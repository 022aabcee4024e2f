"""Test mode (``AMANAH_ENV=test`` and an operator key; 404 otherwise): move the clock, run jobs."""

from __future__ import annotations

from datetime import datetime

from fastapi import Depends
from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine

from amanah.api.auth import require_operator
from amanah.api.deps import get_engine, get_settings
from amanah.api.routing import Router
from amanah.core import jobs, limits
from amanah.core.clock import clock
from amanah.core.config import Settings
from amanah.core.errors import NotFound


def require_test_mode(settings: Settings = Depends(get_settings)) -> None:
    if not settings.is_test:
        raise NotFound("Not Found")


# Test mode is checked before the key, so outside test mode these paths do not exist at all.
router = Router(prefix="/v1/test", tags=["test mode"],
                   dependencies=[Depends(require_test_mode), Depends(require_operator)])


class ClockAdvance(BaseModel):
    seconds: int = Field(ge=0, le=limits.TEST_CLOCK_ADVANCE_MAX_S, description="How far to move the clock.")


class ClockAdvanced(BaseModel):
    now: datetime
    jobs_run: dict[str, int] = Field(description="Per job, how many items it processed.")


@router.post("/clock/advance", response_model=ClockAdvanced,
             summary="Move the server's clock forward and run every job that became due")
def advance_clock(body: ClockAdvance, engine: Engine = Depends(get_engine),
                  settings: Settings = Depends(get_settings)) -> dict:
    now = clock.advance(body.seconds)
    return {"now": now, "jobs_run": jobs.run_all(engine, settings, now)}
