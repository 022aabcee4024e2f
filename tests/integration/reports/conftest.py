"""Reconciliation runs on a database of each test's own: it reports everything booked against
the clearing accounts on a day, so other tests' rows (and their short-cut fundings) must not be
in it. A test starting a few minutes before midnight (UTC) moves the clock past it first, so
that all its operations fall on one day."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from typing import Iterator

import pytest
from sqlalchemy.engine import Engine

from amanah.core.clock import clock
from amanah.core.db import create_engine

MARGIN_BEFORE_MIDNIGHT_S = 600


@pytest.fixture
def database_url(fresh_database_url) -> str:
    return fresh_database_url


@pytest.fixture
def engine(database_url) -> Iterator[Engine]:
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"connector_timeout_s": 0.05})


@pytest.fixture(autouse=True)
def _one_day():
    now = clock.now()
    midnight = datetime.combine(now.date() + timedelta(days=1), time(0), tzinfo=timezone.utc)
    if (midnight - now).total_seconds() < MARGIN_BEFORE_MIDNIGHT_S:
        clock.advance((midnight - now).total_seconds() + 1)


@pytest.fixture
def market(client, engine):
    from tests.integration.trades.conftest import make_market

    return make_market(client, engine)


from tests.integration.wallet.conftest import make_person  # noqa: E402, F401  (the wallet's people)
