"""High availability: PostgreSQL with a synchronous standby and automatic failover
(pg_auto_failover), under payments.

A monitor, a primary and a standby run on this machine, each with its own port and data
directory; ``amanah serve`` is given both nodes in one URL (``target_session_attrs=read-write``).
Buyers top up and pay trades from their balance over HTTP, each request with an
``Idempotency-Key`` and retried with it on connection errors and 5xx. Then the primary is lost
(its whole process group — keeper, postmaster and backends — is SIGKILLed, as a machine would
be), the monitor promotes the standby, and the payments go on. The same server process must
reach the new primary by itself; every payment acknowledged before or after the kill must be
in the new primary's books exactly once; ``amanah ledger verify`` must pass; and no answer may
be a 500 (a database that is away is a 503 with ``Retry-After``). The formation itself is
``tests/reliability/pg_auto_failover.py``."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter

import httpx
import pytest
import sqlalchemy as sa

from amanah.core.db import create_engine
from tests import private_postgres
from tests.e2e.conftest import free_port
from tests.reliability.harness import OK, REFUSED, UNKNOWN, Counters, Op, amanah, base_env, send, server
from tests.reliability.pg_auto_failover import PG_AUTOCTL, Formation

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(PG_AUTOCTL is None, reason="pg_autoctl is not installed (Debian: apt-get install "
                                                  "postgresql-15-auto-failover)"),
    pytest.mark.skipif(not private_postgres.available(), reason="no PostgreSQL binaries to run nodes with"),
]

CLIENTS = 4
BUYERS = 4
BEFORE_KILL_S = 3.0
AFTER_FAILOVER_PAYMENTS = 8
"""Payments and top-ups sent after the kill and acknowledged, before the traffic stops."""
TRAFFIC_TIMEOUT_S = 45.0
OP_TIME_MAX_S = 30.0
ATTEMPTS_MAX = 60
START_BALANCE = 1_000_000


@pytest.fixture
def formation():
    cluster = Formation()
    try:
        cluster.start_monitor()
        cluster.add_node("node1")
        cluster.wait(lambda: cluster.states().get("node1") == ("single", "single"), "node1 to run alone")
        cluster.add_node("node2")
        cluster.wait(lambda: cluster.states() == {"node1": ("primary", "primary"),
                                                  "node2": ("secondary", "secondary")},
                     "node1 primary and node2 its secondary")
        yield cluster
    finally:
        cluster.teardown()


# --- the payments ---------------------------------------------------------------------------

class Payments:
    """Clients paying through the API; every request and every answer kept."""

    def __init__(self, url: str, platform_key: str, seller: str, buyers: list[dict]) -> None:
        self.url, self.platform_key, self.seller, self.buyers = url, platform_key, seller, buyers
        self.ops: list[Op] = []
        self.statuses: Counter = Counter()
        self.counters = Counters()
        self.lock = threading.Lock()
        self.sequence = 0
        self.killed_at: float | None = None
        self.acknowledged_after_kill = 0
        self.first_ack_after_kill: float | None = None

    def _record(self, response: httpx.Response) -> None:
        response.read()
        code = None
        if response.status_code >= 500:
            try:
                code = response.json()["error"]["code"]
            except (ValueError, KeyError, TypeError):
                code = "not json"
            code = f"{code}, Retry-After {response.headers.get('retry-after')}"
        with self.lock:
            self.statuses[(response.status_code, code)] += 1

    def _op(self, http: httpx.Client, name: str, kind: str, path: str, body: dict, token: str, **meta) -> Op:
        op = Op(name=name, kind=kind, path=path, body=body, token=token, key=uuid.uuid4().hex, meta=meta)
        sent_at = time.monotonic()
        with self.lock:
            self.ops.append(op)
        send(http, lambda: self.url, op, self.counters, attempts_max=ATTEMPTS_MAX,
             deadline=sent_at + OP_TIME_MAX_S)
        op.meta["sent_after_kill"] = self.killed_at is not None and sent_at > self.killed_at
        if op.outcome == OK and op.meta["sent_after_kill"] and kind != "create":
            with self.lock:
                self.acknowledged_after_kill += 1
                self.first_ack_after_kill = self.first_ack_after_kill or time.monotonic()
        return op

    def client(self, index: int, stop: threading.Event) -> None:
        rng = random.Random(index)
        buyer = self.buyers[index % len(self.buyers)]
        with httpx.Client(event_hooks={"response": [self._record]}) as http:
            while not stop.is_set():
                with self.lock:
                    self.sequence += 1
                    number = self.sequence
                if rng.random() < 0.25:  # the amount names the top-up: no two of the run are equal
                    self._op(http, f"top-{number}", "topup", "/v1/me/topups",
                             {"amount": 10_000 + number, "currency": "USD", "card_id": buyer["card"]},
                             buyer["token"], user_id=buyer["user"])
                    continue
                created = self._op(http, f"trd-{number}", "create", "/v1/trades", {
                    "out_trade_no": f"ha-{number}", "seller_id": self.seller, "amount": rng.randint(100, 5000),
                    "currency": "USD", "buyer": {"platform_user_id": buyer["platform_user_id"],
                                                 "email": buyer["email"]},
                    "subject": f"order {number}", "fee": {"bps": 250}}, self.platform_key,
                    out_trade_no=f"ha-{number}")
                if created.outcome == OK:
                    self._op(http, f"pay-{number}", "pay", f"/v1/trades/{created.answer['id']}/pay",
                             {"source": "balance"}, buyer["token"], trade_id=created.answer["id"])

    def reads(self, stop: threading.Event) -> None:
        """A buyer looking at their balances meanwhile: reads must be 200 or 503, never 500."""
        buyer = self.buyers[0]
        with httpx.Client(event_hooks={"response": [self._record]}) as http:
            while not stop.wait(0.1):
                try:
                    http.get(f"{self.url}/v1/me/balances", headers={"Authorization": f"Bearer {buyer['token']}"},
                             timeout=15)
                except httpx.TransportError:
                    pass


def _post(url: str, path: str, body: dict, token: str | None = None) -> dict:
    headers = {"Idempotency-Key": uuid.uuid4().hex, **({"Authorization": f"Bearer {token}"} if token else {})}
    response = httpx.post(f"{url}{path}", json=body, headers=headers, timeout=30)
    assert response.status_code < 300, f"{path}: {response.status_code} {response.text}"
    return response.json()


def _set_up(url: str, env: dict) -> Payments:
    created = amanah(env, "platforms", "create", "Failover Bazaar")
    assert created.returncode == 0, created.stderr
    platform_key = created.stdout.strip()
    seller = _post(url, "/v1/sellers", {"platform_seller_id": "s1", "email": "seller@example.com",
                                        "name": "Seller"}, platform_key)["id"]
    buyers = []
    for n in range(BUYERS):
        email, password = f"buyer{n}@example.com", f"correct horse battery {n}"
        user = _post(url, "/v1/users", {"email": email, "password": password, "name": f"Buyer {n}"})
        token = _post(url, "/v1/auth/token", {"email": email, "password": password})["access_token"]
        card = _post(url, "/v1/me/cards", {"number": "4242424242424242", "exp_month": 12, "exp_year": 2035,
                                           "cvc": "123", "holder_name": "Dewi Lestari"}, token)["id"]
        _post(url, "/v1/me/topups", {"amount": START_BALANCE, "currency": "USD", "card_id": card}, token)
        buyers.append({"email": email, "platform_user_id": f"b{n}", "user": user["id"], "token": token,
                       "card": card})
    return Payments(url, platform_key, seller, buyers)


# --- the checks -----------------------------------------------------------------------------

def _violations(ops: list[Op], database_url: str) -> tuple[list[str], Counter]:
    """Every acknowledged request applied exactly once, every refused one never, every one
    whose outcome the client could not learn at most once: read on the new primary. Also how
    often those unknown ones were applied."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            trades = Counter(connection.execute(sa.text("SELECT out_trade_no FROM trades")).scalars())
            transfers = set(connection.execute(sa.text("SELECT id FROM ledger_transfers")).scalars())
            topups = Counter(tuple(row) for row in connection.execute(sa.text(
                "SELECT user_id, amount FROM topups WHERE status = 'succeeded'")))
    finally:
        engine.dispose()

    def applied(op: Op) -> int:
        if op.kind == "create":
            return trades[op.meta["out_trade_no"]]
        if op.kind == "pay":
            return 1 if f"{op.meta['trade_id']}:hold:1" in transfers else 0
        return topups[(op.meta["user_id"], op.body["amount"])]

    violations, unknown = [], Counter()
    for op in ops:
        count = applied(op)
        if (op.outcome == OK and count != 1) or (op.outcome == REFUSED and count != 0) or count > 1:
            violations.append(f"{op.name} ({op.kind}) {op.outcome} ({op.status} {op.answer}) but applied {count} "
                              f"times")
        if op.outcome == UNKNOWN:
            unknown[f"applied {count}x"] += 1
    return violations, unknown


def _synchronous_replication(url: str) -> tuple[str, list[str]]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            names = connection.execute(sa.text("SHOW synchronous_standby_names")).scalar()
            states = list(connection.execute(sa.text("SELECT sync_state FROM pg_stat_replication")).scalars())
    finally:
        engine.dispose()
    return names, states


def _is_writable_primary(url: str) -> bool:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(sa.text("SELECT NOT pg_is_in_recovery()")).scalar()
    finally:
        engine.dispose()


def test_payments_go_on_and_none_acknowledged_is_lost_when_the_primary_dies(formation, tmp_path, vault_key_file):
    # With one standby, number_sync_standbys 0 (the only value pg_auto_failover accepts with
    # fewer than two standbys) already makes every commit wait for it: "ANY 1 (standby)".
    names, replication = _synchronous_replication(formation.url("node1"))
    assert names.startswith("ANY 1 (") and replication in (["quorum"], ["sync"]), (names, replication)

    # the formation's URI as pg_auto_failover prints it, with a user and a short connect timeout
    uri = formation.uri()
    assert uri.startswith("postgres://") and "target_session_attrs=read-write" in uri, uri
    database_url = uri.replace("postgres://", "postgresql+psycopg://postgres@", 1) + "&connect_timeout=2"
    port = free_port()
    env = base_env(database_url, tmp_path / "data", vault_key_file, port)
    migrated = amanah(env, "migrate")
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    process = server(tmp_path, "server", env, port)
    process.start()
    stop = threading.Event()
    try:
        payments = _set_up(process.url, env)
        threads = [threading.Thread(target=payments.client, args=(n, stop), daemon=True) for n in range(CLIENTS)]
        threads.append(threading.Thread(target=payments.reads, args=(stop,), daemon=True))
        for thread in threads:
            thread.start()
        time.sleep(BEFORE_KILL_S)
        payments.killed_at = killed_at = time.monotonic()
        formation.kill("node1")
        formation.wait(lambda: formation.states()["node2"][0] in ("wait_primary", "primary"), "node2's promotion")
        promoted_s = time.monotonic() - killed_at
        deadline = time.monotonic() + TRAFFIC_TIMEOUT_S
        while payments.acknowledged_after_kill < AFTER_FAILOVER_PAYMENTS and time.monotonic() < deadline:
            time.sleep(0.2)
        stop.set()
        for thread in threads:
            thread.join(OP_TIME_MAX_S + 10)
        assert not any(thread.is_alive() for thread in threads), "a client never finished"
        server_alive = process.process.poll() is None
    finally:
        stop.set()
        process.stop()

    new_primary = formation.url("node2")
    violations, unknown = _violations(payments.ops, new_primary)
    verified = amanah(env, "ledger", "verify")
    outcomes = Counter((op.outcome, op.meta.get("sent_after_kill")) for op in payments.ops if op.kind != "create")
    first_ack_s = payments.first_ack_after_kill - killed_at if payments.first_ack_after_kill else None
    counters = payments.counters
    print(f"\nfailover: primary SIGKILLed after {BEFORE_KILL_S:.0f} s of payments; standby promoted (monitor) "
          f"{promoted_s:.1f} s later; first payment sent after the kill acknowledged "
          f"{'never' if first_ack_s is None else f'{first_ack_s:.1f} s'} after it")
    print(f"  payments and top-ups acknowledged: before the kill {outcomes[(OK, False)]}, after "
          f"{outcomes[(OK, True)]}; refused {outcomes[(REFUSED, False)] + outcomes[(REFUSED, True)]}; "
          f"outcome unknown to the client (any request) {dict(unknown) or 0}")
    print(f"  HTTP attempts {counters.requests}, retries {counters.retries} (connection errors "
          f"{counters.transport_errors}, 5xx {counters.server_errors}, 409 in flight {counters.in_flight_409}), "
          f"replayed {counters.replayed}")
    print(f"  answers: {dict(sorted(payments.statuses.items(), key=str))}")
    for line in violations[:20]:
        print(f"  VIOLATION {line}")

    assert server_alive and process.starts == 1, "the server had to be restarted"
    assert _is_writable_primary(new_primary), "node2 is not the primary"
    assert payments.acknowledged_after_kill >= AFTER_FAILOVER_PAYMENTS, \
        f"only {payments.acknowledged_after_kill} payments acknowledged after the failover"
    assert violations == []
    assert verified.returncode == 0, verified.stdout + verified.stderr
    server_errors = {key: count for key, count in payments.statuses.items() if key[0] >= 500}
    assert all(status == 503 and "Retry-After None" not in code for status, code in server_errors), server_errors
