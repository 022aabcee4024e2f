"""A process applying group-committed batches is killed (SIGKILL) in the middle of its work:
every chain it acknowledged is in the books, every chain is all there or not there at all, and
the books balance. Unacknowledged chains may or may not have committed — that is what an
unacknowledged request means."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import sqlalchemy as sa

from amanah import ledger
from amanah.core.clock import clock
from amanah.core.db import create_engine, run_in_transaction
from amanah.ledger import AccountKind, TransferRequest as T
from amanah.ledger.models import transfers

CLIENTS = 8
WALLETS = 6
ACKNOWLEDGED_BEFORE_KILL = 150
TIMEOUT_S = 60.0

CHILD = r"""
import json, sys, threading
from amanah.core.clock import clock
from amanah.core.db import create_engine
from amanah.ledger import TransferRequest as T
from amanah.ledger.group_commit import TransferBatcher

url, wallets, clients = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
batcher = TransferBatcher(create_engine(url))
out = threading.Lock()

def client(index):
    n = 0
    while True:
        first, second, third = (wallets[(index + k) % len(wallets)] for k in range(3))
        chain = [f"c{index}-{n}-a", f"c{index}-{n}-b"]
        outcomes = batcher.submit([
            T.direct(chain[0], debit=first, credit=second, amount=1, code="pay", linked=True),
            T.direct(chain[1], debit=second, credit=third, amount=1, code="pay"),
        ], now=clock.now())
        if all(o.result.succeeded for o in outcomes):
            with out:
                sys.stdout.write(" ".join(["ACK", *chain]) + "\n")
                sys.stdout.flush()
        n += 1

for index in range(clients):
    threading.Thread(target=client, args=(index,), daemon=True).start()
threading.Event().wait()
"""


def fund(url: str) -> list[int]:
    engine = create_engine(url)
    now = clock.now()

    def work(connection):
        clearing = ledger.open_account(connection, kind=AccountKind.CARD_CLEARING, owner_ref="crash", currency="USD",
                                       now=now)
        wallets = [ledger.open_account(connection, kind=AccountKind.USER_WALLET, owner_ref=f"crash_{i}",
                                       currency="USD", now=now).id for i in range(WALLETS)]
        ledger.create_transfers(connection, [T.direct(f"fund_{w}", debit=clearing.id, credit=w, amount=10**9,
                                                      code="topup") for w in wallets], now=now)
        return wallets

    try:
        return run_in_transaction(engine, work)
    finally:
        engine.dispose()


def test_a_process_killed_between_batches_loses_no_acknowledged_chain_and_half_of_none(fresh_database_url):
    wallets = fund(fresh_database_url)
    child = subprocess.Popen([sys.executable, "-c", CHILD, fresh_database_url, json.dumps(wallets), str(CLIENTS)],
                             stdout=subprocess.PIPE, text=True, env={**os.environ})
    acknowledged: list[str] = []
    deadline = time.monotonic() + TIMEOUT_S
    try:
        while len(acknowledged) < 2 * ACKNOWLEDGED_BEFORE_KILL and time.monotonic() < deadline:
            line = child.stdout.readline()
            if not line:
                break
            acknowledged += line.split()[1:]
    finally:
        child.send_signal(signal.SIGKILL)
        rest, _ = child.communicate(timeout=30)
    # Whole lines written before the kill were acknowledged too; a torn last line was not.
    for line in rest.splitlines(keepends=True):
        if line.endswith("\n") and line.startswith("ACK "):
            acknowledged += line.split()[1:]
    assert len(acknowledged) >= 2 * ACKNOWLEDGED_BEFORE_KILL, "the child did not get far enough to be killed mid-run"

    engine = create_engine(fresh_database_url)
    try:
        with engine.connect() as connection:
            stored = set(connection.execute(sa.select(transfers.c.id).where(transfers.c.code == "pay")).scalars())
            report = ledger.verify(connection)
    finally:
        engine.dispose()
    assert set(acknowledged) <= stored, "an acknowledged transfer is missing"
    chains = {name.rsplit("-", 1)[0] for name in stored}
    halves = [c for c in chains if (f"{c}-a" in stored) != (f"{c}-b" in stored)]
    assert halves == [], f"linked chains applied in part: {halves[:5]}"
    assert report.ok, report.violations
