"""The expiry and release jobs find their trades by their partial indexes (migration 0018), also
in the generic plan of the statement psycopg prepares after a few runs: a bound status would
hide the index's predicate from that plan. Sequential scans are turned off so that a small table
does not decide."""

from __future__ import annotations

import pytest

from amanah.core.clock import clock
from amanah.trades.models import trades
from amanah.trades.service import lifecycle
from amanah.trades.states import TradeStatus

pytestmark = pytest.mark.postgres_only


@pytest.mark.parametrize("status, column, index", [
    (TradeStatus.AWAITING_PAYMENT, trades.c.expires_at, "ix_trades_expires_at_awaiting_payment"),
    (TradeStatus.SHIPPED, trades.c.release_at, "ix_trades_release_at_shipped"),
])
def test_the_jobs_query_reads_its_partial_index(engine, status, column, index):
    with engine.connect() as connection:
        connection.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
        connection.exec_driver_sql("SET enable_seqscan = off")
        try:
            for _ in range(7):  # psycopg prepares a statement from its fifth run on
                lifecycle._due(connection, status, column, clock.now())
            name, parameters = connection.exec_driver_sql(
                "SELECT name, cardinality(parameter_types) FROM pg_prepared_statements "
                f"WHERE statement LIKE 'SELECT trades.id%%ORDER BY trades.{column.name}%%'").one()
            plan = "\n".join(connection.exec_driver_sql(
                f"EXPLAIN EXECUTE {name}({', '.join(['NULL'] * parameters)})").scalars())
        finally:
            connection.rollback()
            connection.exec_driver_sql("RESET ALL")
    assert f"Index Scan using {index}" in plan, plan
