"""A resolution's ``pending_id`` is unique by a partial index on PostgreSQL (migration 0019):
transfers that resolve no hold are not in it, and every look-up by ``pending_id`` still reads
it, in the generic plans psycopg's prepared statements end up with too. Sequential scans are
turned off so that a small journal does not decide."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from amanah.core.clock import clock
from amanah.ledger import sql

pytestmark = pytest.mark.postgres_only

INDEX = "uq_ledger_transfers_pending_id"

LOOK_UPS = {  # what reads by pending_id: how to run it, the start of its SQL
    "a batch's resolutions": (lambda c: sql.read_batch(c, {"t-1"}, {"p-1"}, {1}), "WITH pending AS"),
    "resolutions of holds": (lambda c: sql.select_resolutions(c, ["p-1", "p-2"]),
                             "SELECT ledger_transfers.pending_id"),
    "the expiry job's holds": (lambda c: sql.select_due_pendings(c, clock.now(), 10), "SELECT ledger_transfers.id"),
}


def test_the_index_is_unique_and_holds_only_resolutions(engine):
    with engine.connect() as connection:
        definition = connection.execute(sa.text("SELECT indexdef FROM pg_indexes WHERE indexname = :name"),
                                        {"name": INDEX}).scalar_one()
    assert definition.startswith("CREATE UNIQUE INDEX") and "WHERE (pending_id IS NOT NULL)" in definition


@pytest.mark.parametrize("look_up", LOOK_UPS)
def test_a_look_up_by_pending_id_reads_the_index(engine, look_up):
    run, start = LOOK_UPS[look_up]
    with engine.connect() as connection:
        connection.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
        connection.exec_driver_sql("SET enable_seqscan = off")
        try:
            for _ in range(7):  # psycopg prepares a statement from its fifth run on
                run(connection)
            # (A pooled connection may hold the statement prepared before for other types too.)
            name, parameters = connection.exec_driver_sql(
                "SELECT name, cardinality(parameter_types) FROM pg_prepared_statements "
                "WHERE statement LIKE %(start)s AND statement LIKE '%%pending_id%%' ORDER BY prepare_time DESC",
                {"start": start + "%"}).first()
            plan = "\n".join(connection.exec_driver_sql(
                f"EXPLAIN EXECUTE {name}({', '.join(['NULL'] * parameters)})").scalars())
        finally:
            connection.rollback()
            connection.exec_driver_sql("RESET ALL")
    assert INDEX in plan, plan
