"""Growth: single-transfer throughput and the history page at 100 thousand and 10 million transfers.

    .venv/bin/python benchmarks/growth.py [--sizes 100000,10000000] [--seconds 4] [--postgres URL]
        [--skip-sqlite]

For each size, a fresh database is filled by bulk insert (``history_page.py``'s filler: one
user's mixed history, 1 in 10 of the rows, and other users' transfers for the rest), then:
one-transfer-per-transaction throughput with 1 and 8 clients among 1,000 funded wallets
(``ledger_throughput.measure``), and the latency of that user's first history page
(``wallet.service.history.page``, 20 lines) — p50 and p99 of --samples calls. The ratio column
compares each size with the smallest. Every size is filled first; then the figures are taken in
rounds, each round measuring every database in turn (checkpointed first: the fill's write-back,
or the last round's, is not what is measured), and the medians are shown: this machine's speed
drifts by a third within minutes, and turns spread the drift over all sizes alike. The
PostgreSQL databases are dropped at the end. Prints a table; asserts nothing about time. (The bulk rows
are written straight into the journal with no balances behind them, so ``ledger.verify`` is not
run here; ``ledger_throughput.py`` and ``group_commit.py`` check it.)
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from history_page import USER, fill_postgres, fill_sqlite, open_accounts
from ledger_throughput import drop_databases, make_database, measure, setup_books

from amanah.core import migrate
from amanah.core.db import create_engine, run_autocommit
from amanah.wallet.service.history import HistoryFilter, page


def history_timings_ms(engine, samples: int) -> list[float]:
    """The steady state, as a server that has been up a while sees it: the pool hands out its
    connections in turn, and on each the page's statement is planned afresh for its first ten
    runs or so (psycopg prepares it on the fifth, PostgreSQL plans a prepared statement five
    times before settling on a generic plan), so every pooled connection is warmed first."""
    warm_up = 12 * max(1, engine.pool.checkedin())
    timings = []
    for attempt in range(samples + warm_up):
        began = time.perf_counter()
        # As GET /v1/wallet/history reads it: in autocommit.
        lines, _ = run_autocommit(engine, lambda c: page(c, USER, HistoryFilter(), limit=20, starting_after=None))
        if attempt >= warm_up:
            timings.append((time.perf_counter() - began) * 1000)
        assert lines
    return timings


def settle(engine) -> None:
    """Writes the fill's dirty pages out before anything is timed: otherwise the checkpoint that
    a bulk load of gigabytes sets off runs during the measurement, and what is measured is the
    fill's write-back."""
    statement = "CHECKPOINT" if engine.dialect.name == "postgresql" else "PRAGMA wal_checkpoint(TRUNCATE)"
    run_autocommit(engine, lambda connection: connection.exec_driver_sql(statement))


def prepare(label: str, url: str, fill, size: int) -> dict:
    engine = create_engine(url)
    migrate.upgrade(engine)
    accounts = open_accounts(engine)
    began = time.perf_counter()
    fill(engine, size // 10, size - size // 10, accounts)
    filled_s = time.perf_counter() - began
    wallets = setup_books(engine, 1000)
    return {"database": label, "size": size, "fill_s": filled_s, "engine": engine, "wallets": wallets,
            "tps_1": [], "tps_8": [], "pages": []}


def measure_round(state: dict, options) -> None:
    """One round of every figure for one database: settled first (the previous round's writes,
    or the fill's, are not what is measured)."""
    engine = state["engine"]
    settle(engine)
    for clients in (1, 8):
        state[f"tps_{clients}"].append(measure(engine, state["wallets"], clients, 1, options.seconds))
    state["pages"].extend(history_timings_ms(engine, options.samples))


def summary(state: dict) -> dict:
    timings = sorted(state["pages"])
    with state["engine"].connect() as connection:
        rows = connection.execute(sa.text("SELECT count(*) FROM ledger_transfers")).scalar_one()
    state["engine"].dispose()
    return {"database": state["database"], "size": state["size"], "fill_s": state["fill_s"], "rows": rows,
            "tps_1": statistics.median(state["tps_1"]), "tps_8": statistics.median(state["tps_8"]),
            "spread_8": (min(state["tps_8"]), max(state["tps_8"])), "p50": statistics.median(timings),
            "p99": timings[min(len(timings) - 1, int(len(timings) * 0.99))]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,10000000")
    parser.add_argument("--seconds", type=float, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--samples", type=int, default=200, help="history pages per round")
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--skip-sqlite", action="store_true")
    options = parser.parse_args()
    sizes = [int(s) for s in options.sizes.split(",")]
    with tempfile.TemporaryDirectory() as directory:
        states, databases = [], []
        for size in sizes:  # every database filled first, then measured in turns
            name = f"amanah_bench_growth_{size}"
            databases.append(name)
            states.append(prepare("PostgreSQL", make_database(options.postgres, name), fill_postgres, size))
            if not options.skip_sqlite:
                states.append(prepare("SQLite", f"sqlite:///{Path(directory) / f'growth_{size}.db'}", fill_sqlite, size))
        for _ in range(options.rounds):
            for state in states:
                measure_round(state, options)
        rows = [summary(state) for state in states]
    drop_databases(options.postgres, databases)
    print_table(rows, options)


def print_table(rows: list[dict], options) -> None:
    print(f"\nGrowth: one transfer per transaction ({options.seconds:g} s per figure, median of {options.rounds} rounds "
          f"taken in turns across the sizes) and the first history page (20 lines, {options.samples} samples a round)")
    print(f"{'database':<11}{'transfers':>12}{'fill s':>8}{'1 client/s':>12}{'8 clients/s':>13}{'8: min-max':>14}"
          f"{'x smallest':>11}{'page p50 ms':>12}{'page p99 ms':>12}")
    smallest = {}
    for row in sorted(rows, key=lambda r: (r["database"] != "PostgreSQL", r["size"])):
        base = smallest.setdefault(row["database"], row["tps_8"])
        spread = f"{row['spread_8'][0]:,.0f}-{row['spread_8'][1]:,.0f}"
        print(f"{row['database']:<11}{row['rows']:>12,}{row['fill_s']:>8.0f}{row['tps_1']:>12,.0f}{row['tps_8']:>13,.0f}"
              f"{spread:>14}{row['tps_8'] / base:>11.2f}{row['p50']:>12.1f}{row['p99']:>12.1f}")


if __name__ == "__main__":
    main()
