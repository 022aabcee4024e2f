"""Group commit and hot accounts, side by side with pgbench and django-hordak in one run.

    /tmp/probe/bin/python benchmarks/group_commit.py [--seconds 3] [--postgres URL]
        [--skip-sqlite] [--skip-hordak]

Each row: committed transfers per second for a number of client threads over a fixed time.
Modes:
  single     one transfer per transaction (``run_in_transaction`` per transfer);
  grouped    the same unit of work with ``run_in_transaction(..., group=True)``: concurrent
             units share one transaction, one savepoint each, one commit;
  batcher    ``ledger.group_commit.TransferBatcher``: concurrent callers' transfers applied by
             one ``create_transfers`` (one lock, one insert, one update per account, netted);
  batch100   one caller sends 100 transfers per transaction (the explicit batch API).
Workloads: ``uniform`` (1 cent between random wallets among --accounts), ``hot`` (every transfer
credits one platform fee account), ``escrow`` (a hold, then its post: two transfers).
pgbench's TPC-B-like script (3 updates, 1 select, 1 insert) is the reference at 1 and 8
clients; django-hordak (pinned, into a throwaway venv) does the same uniform transfers on the
same PostgreSQL. Each row also shows its CPU per transfer, of this process and of the PostgreSQL
server (``cpu.py``), and a last line what that leaves of 10x pgbench on this machine's cores.
Prints tables; asserts nothing about time; every database ends with ``ledger.verify`` passing.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from cpu import CpuMeter  # noqa: E402
from ledger_throughput import make_database, pgbench, setup_books  # noqa: E402

from amanah import ledger  # noqa: E402
from amanah.core import migrate  # noqa: E402
from amanah.core.db import create_engine, group_committer, run_in_transaction  # noqa: E402
from amanah.ledger import AccountKind, TransferRequest as T  # noqa: E402
from amanah.ledger.group_commit import TransferBatcher  # noqa: E402

HORDAK_PIN = "django-hordak==2.0.0"
HORDAK_VENV = Path("/tmp/amanah_bench_hordak")
HORDAK_INSTALL_TIMEOUT_S = 240

ROWS = [  # (workload, mode, clients)
    ("uniform", "single", 1), ("uniform", "single", 8),
    ("uniform", "grouped", 1), ("uniform", "grouped", 8), ("uniform", "grouped", 64),
    ("uniform", "batcher", 1), ("uniform", "batcher", 8), ("uniform", "batcher", 64),
    ("uniform", "batch100", 1), ("uniform", "batch100", 8),
    ("hot", "single", 8), ("hot", "grouped", 8), ("hot", "grouped", 64),
    ("hot", "batcher", 8), ("hot", "batcher", 64),
    ("escrow", "single", 8), ("escrow", "batcher", 64),
]


def now() -> datetime:
    return datetime.now(timezone.utc)


def transfer_id() -> str:
    return f"t_{secrets.token_hex(8)}"


class Bench:
    def __init__(self, engine, wallets: list[int], fees: int) -> None:
        self.engine, self.wallets, self.fees = engine, wallets, fees
        self.batcher = TransferBatcher(engine)

    def requests(self, workload: str, rng: random.Random, size: int = 1) -> list[list[T]]:
        """``size`` steps; each step is the transfers of one transaction (escrow: two steps)."""
        if workload == "escrow":
            debit, credit = rng.sample(self.wallets, 2)
            hold = transfer_id()
            return [[T.pending(hold, debit=debit, credit=credit, amount=1, code="hold", timeout_s=3600)],
                    [T.post(transfer_id(), pending_id=hold, code="post")]]
        batch = []
        for _ in range(size):
            debit, credit = rng.sample(self.wallets, 2)
            batch.append(T.direct(transfer_id(), debit=debit, credit=self.fees if workload == "hot" else credit,
                                  amount=1, code="pay"))
        return [batch]

    def step(self, mode: str, requests: list[T]) -> int:
        def work(connection):
            return ledger.create_transfers(connection, requests, now=now())

        if mode == "single" or mode == "batch100":
            outcomes = run_in_transaction(self.engine, work)
        elif mode == "grouped":
            outcomes = run_in_transaction(self.engine, work, group=True)
        else:
            outcomes = self.batcher.submit(requests, now=now())
        return sum(1 for outcome in outcomes if outcome.result.succeeded)

    def measure(self, workload: str, mode: str, clients: int, seconds: float) -> float:
        committed = [0] * clients
        stop = time.monotonic() + seconds

        def client(index: int) -> None:
            rng = random.Random(index)
            while time.monotonic() < stop:
                for requests in self.requests(workload, rng, 100 if mode == "batch100" else 1):
                    committed[index] += self.step(mode, requests)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return sum(committed) / (time.monotonic() - started)


Row = tuple[str, str, str, int, float, float, tuple[float, float]]
"""database, workload, mode, clients, transfers/s, transfers per commit, CPU us per transfer
(this process, the PostgreSQL server)"""


def run_database(label: str, url: str, options) -> list[Row]:
    engine = create_engine(url)
    migrate.upgrade(engine)
    wallets = setup_books(engine, options.accounts)
    fees = run_in_transaction(engine, lambda c: ledger.open_account(
        c, kind=AccountKind.PLATFORM_FEES, owner_ref="bench_platform", currency="USD", now=now())).id
    bench = Bench(engine, wallets, fees)
    rows = []
    for workload, mode, clients in ROWS:
        committers = (bench.batcher.committer, group_committer(engine))
        batches_before = sum(c.batches for c in committers)
        with CpuMeter() as cpu:
            rate = bench.measure(workload, mode, clients, options.seconds)
        batches = sum(c.batches for c in committers) - batches_before
        per_batch = rate * options.seconds / batches if batches else 0.0
        rows.append((label, workload, mode, clients, rate, per_batch, cpu.per(rate * options.seconds)))
        print(f"  {label} {workload} {mode} x{clients}: {rate:,.0f}/s", file=sys.stderr, flush=True)
    with engine.connect() as connection:
        report = ledger.verify(connection)
        assert report.ok, report.violations  # correctness, not timing
    engine.dispose()
    return rows


HORDAK_WORKER = r'''
import sys, threading, time, random
import django
from django.conf import settings
name, host, port, user, clients, seconds, accounts = sys.argv[1:8]
settings.configure(
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "mptt", "hordak"],
    DATABASES={"default": {"ENGINE": "django.db.backends.postgresql", "NAME": name, "HOST": host,
                           "PORT": port, "USER": user}},
    USE_TZ=True, DEFAULT_AUTO_FIELD="django.db.models.BigAutoField", HORDAK_DECIMAL_PLACES=2,
    HORDAK_MAX_DIGITS=13, DEFAULT_CURRENCY="USD", CURRENCIES=["USD"],
)
django.setup()
from django.core.management import call_command
from django.db import connection, transaction
call_command("migrate", verbosity=0)
from djmoney.money import Money
from hordak.models import Account
wallets = [Account.objects.create(name=f"w{i}", code=f"{i}", type="AS", currencies=["USD"]) for i in range(int(accounts))]
clients, seconds = int(clients), float(seconds)
committed = [0] * clients
stop = time.monotonic() + seconds
def client(index):
    rng = random.Random(index)
    while time.monotonic() < stop:
        debit, credit = rng.sample(wallets, 2)
        with transaction.atomic():
            debit.transfer_to(credit, Money(1, "USD"))
        committed[index] += 1
    connection.close()
threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
started = time.monotonic()
[t.start() for t in threads]; [t.join() for t in threads]
print(sum(committed) / (time.monotonic() - started))
'''


def hordak(server_url: str, clients: int, seconds: float, accounts: int) -> float | str:
    """Transfers/s of django-hordak on the same server, or why it could not run."""
    python = HORDAK_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(HORDAK_VENV)], check=True)
    probe = subprocess.run([str(python), "-c", "import hordak, psycopg"], capture_output=True)
    if probe.returncode != 0:
        try:
            subprocess.run([str(python), "-m", "pip", "install", "-q", HORDAK_PIN, "psycopg[binary]"],
                           check=True, capture_output=True, timeout=HORDAK_INSTALL_TIMEOUT_S)
        except (subprocess.SubprocessError, OSError) as error:
            return f"not installed ({type(error).__name__})"
    from sqlalchemy.engine import make_url

    url = make_url(make_database(server_url, "amanah_bench_hordak"))
    worker = HORDAK_VENV / "worker.py"
    worker.write_text(HORDAK_WORKER)
    result = subprocess.run(
        [str(python), str(worker), url.database, url.host or "127.0.0.1", str(url.port or 5432),
         url.username or "postgres", str(clients), str(seconds), str(accounts)],
        capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        return "failed: " + (result.stderr.strip().splitlines() or ["?"])[-1][:80]
    return float(result.stdout.strip().splitlines()[-1])


def _cpu(per: tuple[float, float], server_measured: bool = True) -> str:
    client, server = per
    return f"{client:>8.0f}{server:>8.0f}" if server_measured else f"{client:>8.0f}{'-':>8}"


def print_tables(rows: list[Row], pgbench_runs: dict[int, tuple[float, tuple[float, float]]],
                 hordak_tps: dict[int, float | str], options) -> None:
    print(f"\nTransfers/s, {options.seconds:g} s per row, {options.accounts} wallets, fsync on, "
          f"load average before: {options.load}")
    print(f"{'database':<11}{'workload':<9}{'mode':<10}{'clients':>8}{'transfers/s':>13}"
          f"{'per commit':>11}{'x pgbench':>10}{'x single':>9}{'cpu us: client':>16}{'server':>8}")
    pgbench_tps = {clients: tps for clients, (tps, _cpu_per) in pgbench_runs.items()}
    for clients, (tps, per) in pgbench_runs.items():
        print(f"{'pgbench':<11}{'tpcb-like':<9}{'':<10}{clients:>8}{tps:>13,.0f}{'1':>11}{1:>10.2f}{'':>9}{_cpu(per)}")
    for clients, tps in hordak_tps.items():  # (its CPU is not shown: its process also sets Django up)
        shown = f"{tps:>13,.0f}{'1':>11}{tps / pgbench_tps[clients]:>10.2f}" if isinstance(tps, float) else f"  {tps}"
        print(f"{'hordak':<11}{'uniform':<9}{'single':<10}{clients:>8}{shown}")
    single = {(db, workload, c): rate for db, workload, mode, c, rate, _, _ in rows if mode == "single"}
    for db, workload, mode, clients, rate, per_batch, per in rows:
        reference = pgbench_tps[min(clients, 8) if clients > 1 else 1]
        base = single.get((db, workload, min(clients, 8)))
        per_commit = f"{per_batch:.1f}" if per_batch else ("100" if mode == "batch100" else "1")
        versus = f"{rate / base:>9.1f}" if base else f"{'':>9}"
        print(f"{db:<11}{workload:<9}{mode:<10}{clients:>8}{rate:>13,.0f}{per_commit:>11}{rate / reference:>10.2f}"
              f"{versus}{_cpu(per, db != 'SQLite')}")
    print("\nx pgbench: against pgbench at the same clients (64 clients against 8). x single: against "
          "one transfer per transaction, same workload, same clients (64 against 8). per commit: "
          "transfers (escrow: steps) per transaction. cpu us: CPU microseconds per transfer (pgbench: "
          "per transaction) of the client (this process; pgbench's own) and of "
          "the PostgreSQL server (SQLite runs in the client). Every database ended with ledger.verify() passing.")
    _print_ceiling(rows, pgbench_tps)


def _print_ceiling(rows: list[Row], pgbench_tps: dict[int, float]) -> None:
    """What 10x pgbench at 8 clients would leave per transfer on this machine's cores, against
    what the batcher's transfers cost in this run."""
    batcher = next((row for row in rows if row[:4] == ("PostgreSQL", "uniform", "batcher", 64)), None)
    if batcher is None or 8 not in pgbench_tps:
        return
    cores = os.cpu_count() or 1
    target = 10 * pgbench_tps[8]
    client, server = batcher[6]
    print(f"\nCeiling: 10x pgbench at 8 clients is {target:,.0f} transfers/s, {1e6 * cores / target:.0f} us of CPU per "
          f"transfer on {cores} cores for client and server together; the batcher at 64 callers spent "
          f"{client:.0f} (client, one process: at most {1e6 / client if client else 0:,.0f}/s) + {server:.0f} (server) "
          f"= {client + server:.0f} us: at most {1e6 * cores / (client + server) if client + server else 0:,.0f}/s "
          f"if both kept every core busy.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3)
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-hordak", action="store_true")
    options = parser.parse_args()
    options.load = " ".join(f"{x:.2f}" for x in os.getloadavg())

    rows = run_database("PostgreSQL", make_database(options.postgres, "amanah_bench_group"), options)
    if not options.skip_sqlite:
        rows += run_database("SQLite", f"sqlite:////tmp/amanah_bench_{secrets.token_hex(4)}.db", options)
    pgbench_runs: dict[int, tuple[float, tuple[float, float]]] = {}
    hordak_tps: dict[int, float | str] = {}
    for clients in (1, 8):
        seconds = max(1, round(options.seconds))
        pgbench(options.postgres, clients, 1)  # its database made and warm before the measured run
        with CpuMeter() as cpu:
            tps = pgbench(options.postgres, clients, seconds)
        pgbench_runs[clients] = (tps, cpu.per(tps * seconds))
    if not options.skip_hordak:
        for clients in (1, 8):
            hordak_tps[clients] = hordak(options.postgres, clients, options.seconds, 100)
    print_tables(rows, pgbench_runs, hordak_tps, options)


if __name__ == "__main__":
    main()
