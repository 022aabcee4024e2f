"""Ledger throughput, side by side with pgbench's TPC-B-like transaction in the same run.

    .venv/bin/python benchmarks/ledger_throughput.py [--seconds 5] [--postgres URL] [--skip-sqlite]

Each row: committed transfers per second over a fixed time, for a number of client threads
(each with its own connection) and a batch size (transfers per transaction). Transfers move 1 cent
between random wallets among --accounts (plus every tenth a hold and its post), so contention is
real. pgbench runs its built-in TPC-B-like script (3 updates, 1 select, 1 insert: about the work
of one transfer) for the same time with the same client counts. Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import re
import secrets
import subprocess
import threading
import time
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from amanah import ledger
from amanah.core import migrate
from amanah.core.db import create_engine, run_in_transaction
from amanah.ledger import AccountKind, TransferRequest as T


def make_database(server_url: str, name: str) -> str:
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def setup_books(engine, accounts: int) -> list[int]:
    now = datetime.now(timezone.utc)

    def work(connection):
        clearing = ledger.open_account(connection, kind=AccountKind.CARD_CLEARING, owner_ref="bench", currency="USD", now=now)
        wallets = [ledger.open_account(connection, kind=AccountKind.USER_WALLET, owner_ref=f"bench_{i}",
                                       currency="USD", now=now).id for i in range(accounts)]
        ledger.create_transfers(connection, [T.direct(f"fund_{w}", debit=clearing.id, credit=w, amount=10**9, code="topup")
                                             for w in wallets], now=now)
        return wallets

    return run_in_transaction(engine, work)


def batch_of(wallets: list[int], size: int, rng: random.Random) -> list[T]:
    requests = []
    while len(requests) < size:
        debit, credit = rng.sample(wallets, 2)
        if len(requests) % 10 == 8 and len(requests) + 2 <= size:
            hold = f"h_{secrets.token_hex(8)}"
            requests.append(T.pending(hold, debit=debit, credit=credit, amount=1, code="hold"))
            requests.append(T.post(f"p_{secrets.token_hex(8)}", pending_id=hold, code="post"))
        else:
            requests.append(T.direct(f"t_{secrets.token_hex(8)}", debit=debit, credit=credit, amount=1, code="pay"))
    return requests


def measure(engine, wallets: list[int], clients: int, batch_size: int, seconds: float) -> float:
    committed = [0] * clients
    stop = time.monotonic() + seconds

    def client(index: int) -> None:
        rng = random.Random(index)
        while time.monotonic() < stop:
            requests = batch_of(wallets, batch_size, rng)
            outcomes = run_in_transaction(
                engine, lambda c: ledger.create_transfers(c, requests, now=datetime.now(timezone.utc)))
            committed[index] += sum(1 for o in outcomes if o.result.succeeded)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(committed) / (time.monotonic() - started)


def pgbench(server_url: str, clients: int, seconds: int) -> float:
    url = make_url(make_database(server_url, "amanah_bench_pgbench"))
    args = ["-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "postgres"]
    subprocess.run(["pgbench", *args, "-i", "-q", "-s", "10", url.database], check=True, capture_output=True)
    result = subprocess.run(["pgbench", *args, "-c", str(clients), "-j", str(min(clients, 2)), "-T", str(seconds),
                             url.database], check=True, capture_output=True, text=True)
    return float(re.search(r"tps = ([\d.]+)", result.stdout).group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--skip-sqlite", action="store_true")
    options = parser.parse_args()

    rows: list[tuple[str, int, int, float]] = []
    pg_url = make_database(options.postgres, "amanah_bench_ledger")
    targets = [("PostgreSQL", pg_url)]
    if not options.skip_sqlite:
        targets.append(("SQLite", f"sqlite:///{'/tmp/amanah_bench_' + secrets.token_hex(4)}.db"))
    for label, url in targets:
        engine = create_engine(url)
        migrate.upgrade(engine)
        wallets = setup_books(engine, options.accounts)
        for clients, batch_size in ((1, 1), (8, 1), (1, 100), (8, 100), (1, 1000)):
            rows.append((label, clients, batch_size, measure(engine, wallets, clients, batch_size, options.seconds)))
        with engine.connect() as connection:
            assert ledger.verify(connection).ok, "the books must balance after the benchmark"
        engine.dispose()
    pgbench_tps = {clients: pgbench(options.postgres, clients, int(options.seconds)) for clients in (1, 8)}

    print(f"\nLedger throughput, {options.seconds:g} s per row, {options.accounts} wallets, fsync as configured")
    print(f"{'engine':<11}{'clients':>8}{'batch':>7}{'transfers/s':>14}{'vs pgbench TPS (same clients)':>32}")
    for clients in (1, 8):
        print(f"{'pgbench':<11}{clients:>8}{'1':>7}{pgbench_tps[clients]:>14,.0f}{'1.00':>32}")
    for label, clients, batch_size, rate in rows:
        print(f"{label:<11}{clients:>8}{batch_size:>7}{rate:>14,.0f}{rate / pgbench_tps[clients]:>32.2f}")
    print("\nEvery run ends with ledger.verify() passing (the books balance).")


if __name__ == "__main__":
    main()
