"""Payment-history page latency for a user with a million ledger entries, PostgreSQL beside SQLite.

    .venv/bin/python benchmarks/history_page.py [--transfers 1000000] [--postgres URL] [--skip-sqlite]

Fills a fresh database (migrated, so with migration 0010's history indexes) with --transfers
transfers touching one user's USD and EUR wallets — top-ups, escrow holds as buyer and as
seller, fees, withdrawals (the rare type), about 90 seconds apart over three years — plus
--others transfers between other users, by bulk insert (COPY on PostgreSQL), not through the
API. Then times ``wallet.service.history.page`` (the code behind ``GET /v1/me/history``) for:
the first page, a page 900,000 lines deep via ``starting_after``, filters by type, currency and
a date range a year back. Each figure is the median of --repeats runs, in milliseconds; then
the two 0010 indexes are dropped and everything is timed again on the ledger's own
``(account, seq)`` indexes, to show what they buy. Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

from amanah import ledger
from amanah.core import migrate
from amanah.core.db import create_engine, run_in_transaction
from amanah.ledger import AccountKind
from amanah.wallet.service.history import HistoryFilter, page
from ledger_throughput import make_database

USER = "usr_bench_history_user"
START = datetime(2023, 1, 1, tzinfo=timezone.utc)
STEP = timedelta(seconds=90)
HISTORY_INDEXES = ("ix_ledger_transfers_debit_account_id_created_at_seq",
                   "ix_ledger_transfers_credit_account_id_created_at_seq")
COLUMNS = ("id", "kind", "debit_account_id", "credit_account_id", "currency", "amount", "code", "reference",
           "created_at")


def open_accounts(engine) -> dict[str, int]:
    now = datetime.now(timezone.utc)

    def work(connection):
        made = {}
        for code in ("USD", "EUR"):
            for key, kind, owner in (("wallet", AccountKind.USER_WALLET, USER),
                                     ("seller", AccountKind.USER_WALLET, "usr_bench_seller"),
                                     ("other", AccountKind.USER_WALLET, "usr_bench_other"),
                                     ("clearing", AccountKind.CARD_CLEARING, "sandbox_acquirer"),
                                     ("payout", AccountKind.PAYOUT_CLEARING, "sandbox_acquirer"),
                                     ("fees", AccountKind.PLATFORM_FEES, "plt_bench")):
                made[f"{key}_{code}"] = ledger.open_account(connection, kind=kind, owner_ref=owner, currency=code,
                                                            now=now).id
        return made

    return run_in_transaction(engine, work)


def user_row(i: int, a: dict[str, int]) -> tuple:
    """The user's i-th movement: one in seven in euros; one in twenty a withdrawal (the rare type)."""
    code = "EUR" if i % 7 == 3 else "USD"
    wallet, when, trade = a[f"wallet_{code}"], START + i * STEP, f"trd_bench{i // 3:017d}"
    shape = i % 20
    if shape in (0, 10):
        return (f"u{i}", "direct", a[f"clearing_{code}"], wallet, code, 5000, "topup", f"top_bench{i:017d}", when)
    if shape == 5:
        return (f"u{i}", "pending", wallet, a[f"payout_{code}"], code, 700, "withdrawal_hold", f"wdr_bench{i:017d}", when)
    if shape % 3 == 0:
        return (f"u{i}", "pending", a[f"seller_{code}"], wallet, code, 1999, "trade_hold", trade, when)
    if shape % 3 == 1:
        return (f"u{i}", "direct", wallet, a[f"fees_{code}"], code, 50, "platform_fee", trade, when)
    return (f"u{i}", "pending", wallet, a[f"seller_{code}"], code, 2599, "trade_hold", trade, when)


def other_row(i: int, a: dict[str, int]) -> tuple:
    return (f"o{i}", "direct", a["other_USD"], a["seller_USD"], "USD", 1, "trade_refund", None, START + i * STEP)


def rows(count: int, others: int, a: dict[str, int]):
    for i in range(max(count, others)):
        if i < count:
            yield user_row(i, a)
        if i < others:
            yield other_row(i, a)


def fill_postgres(engine, count: int, others: int, a: dict[str, int]) -> None:
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cursor, cursor.copy(f"COPY ledger_transfers ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in rows(count, others, a):
                copy.write_row(row)
        raw.commit()
    finally:
        raw.close()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("VACUUM ANALYZE ledger_transfers"))


def fill_sqlite(engine, count: int, others: int, a: dict[str, int]) -> None:
    insert = sa.text(f"INSERT INTO ledger_transfers ({', '.join(COLUMNS)}) VALUES "
                     f"({', '.join(':' + c for c in COLUMNS)})")
    chunk: list[dict] = []
    with engine.begin() as connection:
        for row in rows(count, others, a):
            values = dict(zip(COLUMNS, row))
            values["created_at"] = values["created_at"].strftime("%Y-%m-%d %H:%M:%S.%f")  # as UTCDateTime stores it
            chunk.append(values)
            if len(chunk) == 50_000:
                connection.execute(insert, chunk)
                chunk = []
        if chunk:
            connection.execute(insert, chunk)
    with engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE")


def cases(count: int) -> dict[str, tuple[HistoryFilter, str | None]]:
    year_back = START + int(count * 2 / 3) * STEP
    return {
        "first page": (HistoryFilter(), None),
        "page 900k lines deep (starting_after)": (HistoryFilter(), f"u{max(count // 10, 1)}"),
        "type=withdrawal (1 in 20)": (HistoryFilter(types=frozenset({"withdrawal"})), None),
        "type=topup, currency=EUR": (HistoryFilter(types=frozenset({"topup"}), currency="EUR"), None),
        "from/to: a month, far back": (HistoryFilter(start=year_back, end=year_back + timedelta(days=30)), None),
    }


def measure(engine, count: int, repeats: int, limit: int) -> dict[str, float]:
    results = {}
    for name, (history_filter, after) in cases(count).items():
        timings = []
        for attempt in range(repeats + 1):
            began = time.perf_counter()
            with engine.connect() as connection:
                lines, _ = page(connection, USER, history_filter, limit=limit, starting_after=after)
            if attempt:  # the first run warms the caches
                timings.append((time.perf_counter() - began) * 1000)
        assert lines, name  # a page that found nothing measures nothing
        results[name] = statistics.median(timings)
    return results


def drop_history_indexes(engine) -> None:
    with engine.begin() as connection:
        for name in HISTORY_INDEXES:
            connection.execute(sa.text(f"DROP INDEX {name}"))


def run(label: str, url: str, fill, args) -> dict[str, dict[str, float]]:
    engine = create_engine(url)
    migrate.upgrade(engine)
    accounts = open_accounts(engine)
    began = time.perf_counter()
    fill(engine, args.transfers, args.others, accounts)
    print(f"{label}: {args.transfers + args.others:,} transfers inserted in {time.perf_counter() - began:.0f} s")
    with_index = measure(engine, args.transfers, args.repeats, args.limit)
    drop_history_indexes(engine)
    without = measure(engine, args.transfers, max(args.repeats // 4, 1), args.limit)
    engine.dispose()
    return {f"{label}, 0010 indexes": with_index, f"{label}, without": without}


def print_table(columns: dict[str, dict[str, float]], count: int, limit: int) -> None:
    names = list(next(iter(columns.values())))
    first = max(len(n) for n in names) + 2
    print(f"\nHistory page of {limit} lines, median ms, one user with {count:,} ledger entries")
    print("case".ljust(first) + "".join(c.rjust(max(len(c), 10) + 2) for c in columns))
    for name in names:
        print(name.ljust(first) + "".join(f"{columns[c][name]:.2f}".rjust(max(len(c), 10) + 2) for c in columns))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transfers", type=int, default=1_000_000)
    parser.add_argument("--others", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    columns: dict[str, dict[str, float]] = {}
    if not args.skip_postgres:
        url = make_database(args.postgres, "amanah_bench_history")
        columns |= run("PostgreSQL", url, fill_postgres, args)
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as directory:
            columns |= run("SQLite", f"sqlite:///{Path(directory) / 'bench.db'}", fill_sqlite, args)
    print_table(columns, args.transfers, args.limit)


if __name__ == "__main__":
    main()
