"""``core.db.OnDriver.rows``: a SELECT run on the driver reads as SQLAlchemy's execution reads it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from amanah.core.db import OnDriver, UTCDateTime

pytestmark = pytest.mark.postgres_only

_AT = datetime(2026, 12, 6, 1, 2, 3, 456789, tzinfo=timezone(timedelta(hours=-3)))


def test_rows_are_named_and_read_through_their_types_as_sqlalchemy_reads_them(engine):
    statement = sa.select(
        sa.literal(_AT, UTCDateTime).label("at"), sa.cast(sa.null(), UTCDateTime).label("never"),
        sa.literal("ok").label("word"), sa.literal(7, sa.BigInteger).label("count"),
    )
    with engine.connect() as connection:
        connection.exec_driver_sql("SET TIME ZONE 'Asia/Kolkata'")  # the driver's datetimes come back in +05:30
        expected = connection.execute(statement).one()
        rows = OnDriver(statement).rows(connection, {})
        connection.rollback()
    assert len(rows) == 1 and rows[0] == tuple(expected) and rows[0]._fields == tuple(expected._fields)
    assert rows[0].at == _AT and rows[0].at.tzinfo is timezone.utc and rows[0].never is None
    assert (rows[0].word, rows[0].count) == ("ok", 7)


def test_no_rows_is_an_empty_list(engine):
    with engine.connect() as connection:
        assert OnDriver(sa.select(sa.literal(1).label("one")).where(sa.false())).rows(connection, {}) == []
