"""Growth: single-transfer throughput and the history page at 100 thousand and 10 million transfers.

    .venv/bin/python benchmarks/growth.py [--sizes 100000,10000000] [--seconds 4] [--postgres URL]
        [--skip-sqlite]

For each size, a fresh database is filled by bulk insert (``history_page.py``'s filler: one
user's mixed history, 1 in 10 of the rows, and other users' transfers for the rest), then:
one-transfer-per-transaction throughput with 1 and 8 clients among 1,000 funded wallets
(``ledger_throughput.measure``), and the latency of that user's first history page
(``wallet.service.history.page``, 20 lines) — p50 and p99 of --samples calls. The ratio column
compares each size with the smallest. Before timing, the fill is checkpointed (its write-back is
not what is measured). Prints a table; asserts nothing about time. (The bulk rows
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

from history_page import USER, fill_postgres, fill_sqlite, make_database, open_accounts
from ledger_throughput import measure, setup_books

from amanah.core import migrate
from amanah.core.db import create_engine, run_autocommit
from amanah.wallet.service.history import HistoryFilter, page


def history_latency_ms(engine, samples: int) -> tuple[float, float]:
    timings = []
    for attempt in range(samples + 5):
        began = time.perf_counter()
        # As GET /v1/wallet/history reads it: in autocommit.
        lines, _ = run_autocommit(engine, lambda c: page(c, USER, HistoryFilter(), limit=20, starting_after=None))
        if attempt >= 5:  # warm-up
            timings.append((time.perf_counter() - began) * 1000)
        assert lines
    timings.sort()
    return statistics.median(timings), timings[min(len(timings) - 1, int(len(timings) * 0.99))]


def settle(engine) -> None:
    """Writes the fill's dirty pages out before anything is timed: otherwise the checkpoint that
    a bulk load of gigabytes sets off runs during the measurement, and what is measured is the
    fill's write-back."""
    statement = "CHECKPOINT" if engine.dialect.name == "postgresql" else "PRAGMA wal_checkpoint(TRUNCATE)"
    run_autocommit(engine, lambda connection: connection.exec_driver_sql(statement))


def run(label: str, url: str, fill, size: int, options) -> dict:
    engine = create_engine(url)
    migrate.upgrade(engine)
    accounts = open_accounts(engine)
    began = time.perf_counter()
    fill(engine, size // 10, size - size // 10, accounts)
    filled_s = time.perf_counter() - began
    wallets = setup_books(engine, 1000)
    settle(engine)
    row = {"database": label, "size": size, "fill_s": filled_s}
    for clients in (1, 8):
        row[f"tps_{clients}"] = measure(engine, wallets, clients, 1, options.seconds)
    row["p50"], row["p99"] = history_latency_ms(engine, options.samples)
    with engine.connect() as connection:
        row["rows"] = connection.execute(sa.text("SELECT count(*) FROM ledger_transfers")).scalar_one()
    engine.dispose()
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,10000000")
    parser.add_argument("--seconds", type=float, default=4)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--skip-sqlite", action="store_true")
    options = parser.parse_args()
    sizes = [int(s) for s in options.sizes.split(",")]
    rows = []
    for size in sizes:
        rows.append(run("PostgreSQL", make_database(options.postgres, "amanah_bench_growth"), fill_postgres, size, options))
        if not options.skip_sqlite:
            with tempfile.TemporaryDirectory() as directory:
                rows.append(run("SQLite", f"sqlite:///{Path(directory) / 'growth.db'}", fill_sqlite, size, options))
    print_table(rows, options)


def print_table(rows: list[dict], options) -> None:
    print(f"\nGrowth: one transfer per transaction ({options.seconds:g} s per figure) and the first history page "
          f"(20 lines, {options.samples} samples)")
    print(f"{'database':<11}{'transfers':>12}{'fill s':>8}{'1 client/s':>12}{'8 clients/s':>13}{'x smallest':>11}"
          f"{'page p50 ms':>12}{'page p99 ms':>12}")
    smallest = {}
    for row in rows:
        base = smallest.setdefault(row["database"], row["tps_8"])
        print(f"{row['database']:<11}{row['rows']:>12,}{row['fill_s']:>8.0f}{row['tps_1']:>12,.0f}{row['tps_8']:>13,.0f}"
              f"{row['tps_8'] / base:>11.2f}{row['p50']:>12.1f}{row['p99']:>12.1f}")


if __name__ == "__main__":
    main()
