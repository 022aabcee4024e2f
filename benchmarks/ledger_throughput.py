"""Ledger throughput, side by side with pgbench's TPC-B-like transaction in the same run.

    .venv/bin/python benchmarks/ledger_throughput.py [--seconds 5] [--postgres URL] [--skip-sqlite]

Each row: committed transfers per second over a fixed time, for a number of clients (threads of
this process, or processes; each with its own connection) and a batch size (transfers per
transaction). Every row is measured once a round (``--rounds``), in turns, and against pgbench
in the same round; the table shows the medians. Transfers move 1 cent
between random wallets among --accounts (plus every tenth a hold and its post), so contention is
real. pgbench runs its built-in TPC-B-like script (3 updates, 1 select, 1 insert: about the work
of one transfer) for the same time with the same client counts. Prints a table; asserts nothing.

Two more references on PostgreSQL, one transfer per transaction, to show where the time goes:
``pgbench + fn`` runs the ledger's own one-transfer function (``ledger_transfer_one``,
migrations 0014, 0016: what a single transfer costs the server) from pgbench's C client, and
``psycopg, no engine`` calls that function from Python with the bare driver (BEGIN, the call,
COMMIT) in separate processes: the floor of any Python client on this machine, which the
ledger's own rows can only approach. ``psycopg, autocommit`` calls it the same way with the
driver in autocommit: the call is a transaction of its own, one round trip instead of three,
what a transfer committed alone could cost a Python client (no product path commits a transfer
alone: each moves money together with a trade's, top-up's or withdrawal's own rows).
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import re
import secrets
import statistics
import subprocess
import tempfile
import threading
import time
from collections import defaultdict
from datetime import datetime, timezone

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from amanah import ledger
from amanah.core import migrate
from amanah.core.db import create_engine, run_in_transaction
from amanah.ledger import AccountKind, TransferRequest as T


def _on_server(server_url: str, statements: list[str]) -> None:
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        for statement in statements:
            connection.execute(sa.text(statement))
    admin.dispose()


def make_database(server_url: str, name: str) -> str:
    """A new, empty database of this name (an old one is dropped); its URL."""
    _on_server(server_url, [f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'])
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_databases(server_url: str, names: list[str]) -> None:
    _on_server(server_url, [f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in names])


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


def _transfer_loop(engine, wallets: list[int], seed: int, batch_size: int, seconds: float) -> int:
    """One client: batches of transfers, one per transaction, until time is up; those committed."""
    rng = random.Random(seed)
    committed = 0
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        requests = batch_of(wallets, batch_size, rng)
        outcomes = run_in_transaction(
            engine, lambda c: ledger.create_transfers(c, requests, now=datetime.now(timezone.utc)))
        committed += sum(1 for o in outcomes if o.result.succeeded)
    return committed


def _process_client(url: str, wallets: list[int], batch_size: int, seconds: float, seed: int, counts) -> None:
    engine = create_engine(url)
    counts[seed] = _transfer_loop(engine, wallets, seed, batch_size, seconds)
    engine.dispose()


def in_processes(target, clients: int, *args) -> int:
    """Runs ``target(*args, seed, counts)`` in ``clients`` forked processes at once (each sets
    ``counts[seed]``); the sum of their counts."""
    context = multiprocessing.get_context("fork")
    counts = context.Manager().dict()
    processes = [context.Process(target=target, args=(*args, seed, counts)) for seed in range(clients)]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    assert len(counts) == clients and all(process.exitcode == 0 for process in processes)
    return sum(counts.values())


def measure(engine, wallets: list[int], clients: int, batch_size: int, seconds: float, *,
            processes: bool = False) -> float:
    """Committed transfers/s of ``clients`` at once: threads of this process sharing ``engine``
    (and its GIL), or processes each with an engine of its own (as ``amanah serve --workers``)."""
    if processes:
        url = engine.url.render_as_string(hide_password=False)
        engine.dispose()  # the children must not inherit pooled connections
        return in_processes(_process_client, clients, url, wallets, batch_size, seconds) / seconds
    committed = [0] * clients

    def client(index: int) -> None:
        committed[index] = _transfer_loop(engine, wallets, index, batch_size, seconds)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(committed) / (time.monotonic() - started)


_pgbench_databases: dict[str, str] = {}


def pgbench(server_url: str, clients: int, seconds: int) -> float:
    """pgbench's TPC-B-like TPS at ``clients``; its database (scale 10) is made on first use."""
    made = server_url not in _pgbench_databases
    if made:
        _pgbench_databases[server_url] = make_database(server_url, "amanah_bench_pgbench")
    database, args = _libpq(_pgbench_databases[server_url])
    if made:
        subprocess.run(["pgbench", *args, "-i", "-q", "-s", "10", database], check=True, capture_output=True)
    result = subprocess.run(["pgbench", *args, "-c", str(clients), "-j", str(min(clients, 2)), "-T", str(seconds),
                             database], check=True, capture_output=True, text=True)
    return float(re.search(r"tps = ([\d.]+)", result.stdout).group(1))


def _libpq(url: str) -> tuple[str, list[str]]:
    """The database name and pgbench's connection flags for a SQLAlchemy URL."""
    parsed = make_url(url)
    return parsed.database, ["-h", parsed.host or "127.0.0.1", "-p", str(parsed.port or 5432),
                             "-U", parsed.username or "postgres"]


def pgbench_function(url: str, wallets: list[int], clients: int, seconds: int) -> float:
    """pgbench's C client calling ``ledger_transfer_one`` between two random wallets (they
    must be consecutive ids, as ``setup_books`` opens them): the server's cost of a transfer."""
    assert wallets == list(range(wallets[0], wallets[0] + len(wallets))), "wallet ids must be consecutive"
    low, count = wallets[0], len(wallets)
    script = (f"\\set d random({low}, {low + count - 1})\n"
              f"\\set c {low} + (:d - {low} + random(1, {count - 1})) % {count}\n"
              "BEGIN;\n"
              "SELECT ledger_transfer_one('f_' || md5(random()::text), 'direct', :d, :c, 1, NULL, NULL, 'pay',"
              " NULL, now());\n"
              "END;\n")
    database, args = _libpq(url)
    with tempfile.NamedTemporaryFile("w", suffix=".sql") as file:
        file.write(script)
        file.flush()
        result = subprocess.run(["pgbench", *args, "-n", "-f", file.name, "-c", str(clients), "-j", str(min(clients, 2)),
                                 "-T", str(seconds), database], check=True, capture_output=True, text=True)
    return float(re.search(r"tps = ([\d.]+)", result.stdout).group(1))


def _bare_client(conninfo: str, wallets: list[int], seconds: float, autocommit: bool, seed: int, counts) -> None:
    rng = random.Random(seed)
    call = "SELECT ledger_transfer_one(%s, 'direct', %s, %s, 1, NULL, NULL, 'pay', NULL, %s)"
    done = 0
    with psycopg.connect(conninfo, autocommit=autocommit) as connection:
        stop = time.monotonic() + seconds
        while time.monotonic() < stop:
            debit, credit = rng.sample(wallets, 2)
            values = (f"r_{secrets.token_hex(8)}", debit, credit, datetime.now(timezone.utc))
            if autocommit:  # the call is a transaction of its own
                connection.execute(call, values, prepare=True).fetchone()
            else:
                with connection.transaction():
                    connection.execute(call, values, prepare=True).fetchone()
            done += 1
    counts[seed] = done


def bare_psycopg(url: str, wallets: list[int], clients: int, seconds: float, *, autocommit: bool = False) -> float:
    """Transfers/s from ``clients`` processes calling ``ledger_transfer_one`` with the bare
    driver, one per transaction (BEGIN, the call, COMMIT; or the call alone in autocommit):
    the Python client's floor (no engine, no SQLAlchemy)."""
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    return in_processes(_bare_client, clients, conninfo, wallets, seconds, autocommit) / seconds


ROWS = ((1, 1, False), (8, 1, False), (8, 1, True), (1, 100, False), (8, 100, False), (1, 1000, False))
"""The ledger's rows: clients, transfers per transaction, clients as processes (else threads)."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--rounds", type=int, default=3, help="every row measured once a round, in turns")
    options = parser.parse_args()

    setups = []  # label, url, engine, wallets
    for label, url in [("PostgreSQL", make_database(options.postgres, "amanah_bench_ledger"))] + (
            [] if options.skip_sqlite else [("SQLite", f"sqlite:///{'/tmp/amanah_bench_' + secrets.token_hex(4)}.db")]):
        engine = create_engine(url)
        migrate.upgrade(engine)
        setups.append((label, url, engine, setup_books(engine, options.accounts)))
    rates: dict[tuple, list[float]] = defaultdict(list)  # (engine, clients, as, batch): one per round
    ratios: dict[tuple, list[float]] = defaultdict(list)
    for _round in range(options.rounds):
        before = {clients: pgbench(options.postgres, clients, int(options.seconds)) for clients in (1, 8)}
        measured = []
        for label, url, engine, wallets in setups:
            if label == "PostgreSQL":
                for clients in (1, 8):
                    measured.append((("pgbench + fn", clients, "C", 1),
                                     pgbench_function(url, wallets, clients, int(options.seconds))))
                    measured.append((("psycopg, no engine", clients, "processes", 1),
                                     bare_psycopg(url, wallets, clients, options.seconds)))
                    measured.append((("psycopg, autocommit", clients, "processes", 1),
                                     bare_psycopg(url, wallets, clients, options.seconds, autocommit=True)))
            for clients, batch_size, processes in ROWS:
                rate = measure(engine, wallets, clients, batch_size, options.seconds, processes=processes)
                measured.append(((label, clients, "processes" if processes else "threads", batch_size), rate))
        after = {clients: pgbench(options.postgres, clients, int(options.seconds)) for clients in (1, 8)}
        measured = [(("pgbench", clients, "C", 1), (before[clients] + after[clients]) / 2) for clients in (1, 8)] + measured
        for key, rate in measured:
            rates[key].append(rate)
            ratios[key].append(2 * rate / (before[key[1]] + after[key[1]]))
    for _label, _url, engine, _wallets in setups:
        with engine.connect() as connection:
            assert ledger.verify(connection).ok, "the books must balance after the benchmark"
        engine.dispose()

    print(f"\nLedger throughput, {options.seconds:g} s per row, {options.rounds} rounds (medians), "
          f"{options.accounts} wallets, fsync as configured")
    print(f"{'engine':<19}{'clients':>8}{'as':>10}{'batch':>7}{'transfers/s':>13}{'x pgbench':>11}{'x range':>13}")
    for key in rates:
        label, clients, how, batch_size = key
        low, high = min(ratios[key]), max(ratios[key])
        print(f"{label:<19}{clients:>8}{how:>10}{batch_size:>7}{statistics.median(rates[key]):>13,.0f}"
              f"{statistics.median(ratios[key]):>11.2f}{f'{low:.2f}-{high:.2f}':>13}")
    print("\nx pgbench: against pgbench's TPS at the same clients in the same round (the mean of its runs just\n"
          "before and just after the round's rows), so the machine's drift between rounds falls on both.")
    print("\npgbench + fn: pgbench (C) calling the ledger's one-transfer function; psycopg, no engine: the same\n"
          "function from Python processes with the bare driver (the floor of a Python client here); psycopg,\n"
          "autocommit: the same, each call a transaction of its own (one round trip, not three). Clients as\n"
          "threads share one process and its GIL (concurrent requests in one server worker); as processes, each\n"
          "has its own engine (one per `amanah serve --workers` process).")
    print("\nEvery run ends with ledger.verify() passing (the books balance).")


if __name__ == "__main__":
    main()
