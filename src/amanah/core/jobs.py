"""Background jobs: named, periodic, each run in its own transaction.

A job is ``fn(engine, settings, now) -> int`` (how much it did) that finds its own due work in
the database, so any number of processes may run it: they must claim work with locks (``FOR
UPDATE SKIP LOCKED`` on PostgreSQL) or idempotent writes. ``amanah serve`` runs the loop in a
thread; ``amanah worker`` runs it alone; test mode's clock advance calls ``run_all`` once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine

from amanah.core import limits
from amanah.core.clock import clock
from amanah.core.config import Settings

log = logging.getLogger("amanah.jobs")

JobFunction = Callable[[Engine, Settings, datetime], int]


@dataclass(frozen=True)
class Job:
    name: str
    run: JobFunction
    interval_s: float


_JOBS: dict[str, Job] = {}


def register(name: str, interval_s: float) -> Callable[[JobFunction], JobFunction]:
    """Decorator: ``@jobs.register("ledger.expire_holds", interval_s=1.0)``."""

    def decorate(fn: JobFunction) -> JobFunction:
        assert name not in _JOBS or _JOBS[name].run is fn, f"job {name} registered twice"
        _JOBS[name] = Job(name, fn, interval_s)
        return fn

    return decorate


def registered() -> list[Job]:
    _load_job_modules()
    return list(_JOBS.values())


def _load_job_modules() -> None:
    """Imports every domain's ``jobs`` module so their ``@register`` lines run."""
    import importlib
    import pkgutil

    import amanah

    for module in pkgutil.iter_modules(amanah.__path__):
        if module.ispkg:
            try:
                importlib.import_module(f"amanah.{module.name}.jobs")
            except ModuleNotFoundError as error:
                if error.name != f"amanah.{module.name}.jobs":
                    raise


def run_all(engine: Engine, settings: Settings, now: datetime | None = None) -> dict[str, int]:
    """Runs every job once until it has nothing left to do (test clock, CLI)."""
    now = now or clock.now()
    done: dict[str, int] = {}
    for job in registered():
        total = 0
        while (count := job.run(engine, settings, now)) > 0:
            total += count
        done[job.name] = total
    return done


class Runner:
    """Runs every registered job on its interval in a background thread until stopped."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine, self.settings = engine, settings
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="amanah-jobs", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout_s)

    def run_forever(self) -> None:
        self._loop()

    def _loop(self) -> None:
        jobs = registered()
        next_run = {job.name: 0.0 for job in jobs}
        tick_s = min((job.interval_s for job in jobs), default=1.0)
        elapsed = 0.0
        while not self._stop.is_set():
            for job in jobs:
                if next_run[job.name] <= elapsed:
                    self._run_one(job)
                    next_run[job.name] = elapsed + job.interval_s
            self._stop.wait(tick_s)
            elapsed += tick_s

    def _run_one(self, job: Job) -> None:
        """Runs ``job``, and again while it finds work, for up to ``JOB_BURST_S``: one batch
        per tick would cap a job at its batch size a second (ten webhooks a second per
        process, whatever the backlog)."""
        deadline = time.monotonic() + limits.JOB_BURST_S
        try:
            while job.run(self.engine, self.settings, clock.now()) > 0:
                if time.monotonic() >= deadline or self._stop.is_set():
                    break
        except Exception:  # a failing job must not stop the others; it is retried next tick
            log.exception("job %s failed", job.name)
