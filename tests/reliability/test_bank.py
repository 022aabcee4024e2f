"""The bank test (after Jepsen's): many clients move money over HTTP through ``amanah serve
--workers 2`` on PostgreSQL while uvicorn workers are SIGKILLed at random, the whole server is
killed and restarted, and PostgreSQL itself is crashed and restarted (a private cluster of the
test's own, ``tests/private_postgres.py``: the shared server is never touched); then every
acknowledged request must be in the books exactly once, every refused one not at all, the books
must balance, and every committed change that makes a webhook (trade held, completed, refunded)
must have reached a real, signature-checking receiver at least once.

Profiles: short (CI, ~20 s of traffic) by default; ``AMANAH_BANK_SECONDS=300`` (and more clients
with ``AMANAH_BANK_CLIENTS``) for the long one, which also waits out the idempotency lease
(``IDEMPOTENCY_LEASE_S``) and retries every request whose outcome was unknown — so a request that
ran and crashed before its answer was stored runs *again*, and only the domain's guards stop a
second effect. ``AMANAH_BANK_PG_RESTARTS`` sets how many times PostgreSQL is restarted during the
traffic (1 in the short profile, one a minute in the long one; 0 for none), alternately with
``pg_ctl restart -m immediate`` and by SIGKILLing the postmaster. ``scripts/bank-test`` runs the
long profile.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from amanah.core import limits, migrate
from amanah.core.config import Settings
from amanah.core.db import create_engine
from amanah.platforms.webhooks.jobs import deliver_due
from amanah.platforms.webhooks.models import deliveries
from tests import private_postgres
from tests.e2e.conftest import free_port
from tests.integration.webhooks.receiver import Receiver, start_receiver
from tests.reliability.harness import (OK, REFUSED, UNKNOWN, Counters, Op, Process, amanah, base_env, send,
                                       server)

pytestmark = pytest.mark.postgres_only

SECONDS = float(os.environ.get("AMANAH_BANK_SECONDS", "12"))
LONG = SECONDS > 60
CLIENTS = int(os.environ.get("AMANAH_BANK_CLIENTS", "24" if LONG else "12"))
BUYERS = int(os.environ.get("AMANAH_BANK_BUYERS", "16" if LONG else "6"))
WORKER_KILL_EVERY_S = (1.0, 3.0)
SETTLE_AFTER_LEASE = os.environ.get("AMANAH_BANK_SETTLE", "1" if LONG else "0") == "1"
PG_RESTARTS = int(os.environ.get("AMANAH_BANK_PG_RESTARTS", str(max(2, int(SECONDS // 60)) if LONG else 1)))
WEBHOOK_DRAIN_S = float(os.environ.get("AMANAH_BANK_WEBHOOK_DRAIN_S", "200" if LONG else "15"))
"""How long the server's own delivery job gets to drain the outbox after the traffic."""
OP_TIME_MAX_S = 45.0  # one request, with its retries, across a whole-server restart
ATTEMPTS_MAX = 60
CURRENCY = "USD"
START_BALANCE = 5_000_000


@dataclass
class Buyer:
    email: str
    platform_user_id: str
    user_id: str
    token: str
    card_id: str


def _post_ok(url: str, path: str, body: dict, token: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    headers["Idempotency-Key"] = uuid.uuid4().hex
    for _attempt in range(20):
        try:
            response = httpx.post(f"{url}{path}", json=body, headers=headers, timeout=15)
        except httpx.TransportError:
            time.sleep(0.2)
            continue
        assert response.status_code < 300, f"{path}: {response.status_code} {response.text}"
        return response.json()
    raise AssertionError(f"{path}: no answer")


class World:
    """The bank's clients and what they were told."""

    def __init__(self, url: str, platform_key: str, sellers: list[str], buyers: list[Buyer]):
        self.url, self.platform_key, self.sellers, self.buyers = url, platform_key, sellers, buyers
        self.ops: list[Op] = []
        self.lock = threading.Lock()
        self.counters = Counters()
        self.sequence = 0

    def next_number(self) -> int:
        with self.lock:
            self.sequence += 1
            return self.sequence

    def op(self, http: httpx.Client, name: str, kind: str, path: str, body: dict, token: str, **meta) -> Op:
        op = Op(name=name, kind=kind, path=path, body=body, token=token, key=uuid.uuid4().hex, meta=meta)
        with self.lock:
            self.ops.append(op)
        return send(http, lambda: self.url, op, self.counters, attempts_max=ATTEMPTS_MAX,
                    deadline=time.monotonic() + OP_TIME_MAX_S)

    def client(self, index: int, stop: threading.Event) -> None:
        rng = random.Random(index * 7919)
        buyer = self.buyers[index % len(self.buyers)]
        with httpx.Client() as http:
            while not stop.is_set():
                if rng.random() < 0.1:
                    number = self.next_number()
                    # the amount names the top-up: no two top-ups of the run have the same amount
                    self.op(http, f"top-{number}", "topup", "/v1/me/topups",
                            {"amount": 100_000 + number, "currency": CURRENCY, "card_id": buyer.card_id},
                            buyer.token, user_id=buyer.user_id)
                else:
                    self.trade_lifecycle(http, rng, buyer)

    def trade_lifecycle(self, http: httpx.Client, rng: random.Random, buyer: Buyer) -> None:
        number = self.next_number()
        amount = rng.randint(100, 5_000)
        created = self.op(http, f"trd-{number}", "create", "/v1/trades", {
            "out_trade_no": f"bank-{number}", "seller_id": rng.choice(self.sellers),
            "buyer": {"platform_user_id": buyer.platform_user_id, "email": buyer.email},
            "amount": amount, "currency": CURRENCY, "subject": f"order {number}", "fee": {"bps": 250}},
            self.platform_key, out_trade_no=f"bank-{number}")
        if created.outcome != OK:
            return
        trade_id = created.answer["id"]
        paid = self.op(http, f"pay-{number}", "pay", f"/v1/trades/{trade_id}/pay", {"source": "balance"},
                       buyer.token, trade_id=trade_id)
        if paid.outcome != OK:
            return
        left = amount
        for _ in range(rng.choice([0, 0, 1, 1, 2])):
            part = rng.randint(1, max(1, left // 2))
            refund = self.op(http, f"ref-{number}-{left}", "refund", f"/v1/trades/{trade_id}/refunds",
                             {"amount": part, "reason": f"ref-{number}-{left}"}, self.platform_key,
                             trade_id=trade_id)
            if refund.outcome != OK:
                return
            left -= part
        if rng.random() < 0.1:  # more than is left: must be refused, and nothing may move
            self.op(http, f"over-{number}", "refund", f"/v1/trades/{trade_id}/refunds",
                    {"amount": left + 1, "reason": f"over-{number}"}, self.platform_key, trade_id=trade_id)
        if rng.random() < 0.15:
            self.op(http, f"full-{number}", "refund", f"/v1/trades/{trade_id}/refunds",
                    {"amount": left, "reason": f"full-{number}"}, self.platform_key, trade_id=trade_id)
            return
        self.op(http, f"cnf-{number}", "confirm", f"/v1/trades/{trade_id}/confirm", {}, buyer.token,
                trade_id=trade_id)


class Chaos:
    def __init__(self, process, seed: int, postgres: private_postgres.PrivatePostgres | None = None,
                 postgres_restarts: int = 0, jobs=None):
        self.process, self.rng, self.postgres, self.jobs = process, random.Random(seed), postgres, jobs
        self.postgres_restarts_planned = postgres_restarts if postgres is not None else 0
        self.worker_kills = self.server_kills = self.postgres_restarts = self.job_worker_kills = 0
        self.job_worker_exits = 0
        self.log: list[str] = []
        self.schedule_done = threading.Event()
        """Set once every planned crash has happened (the traffic runs at least until then)."""

    def run(self, stop: threading.Event, seconds: float) -> None:
        started = time.monotonic()
        planned = self.postgres_restarts_planned
        # the whole-server kill once, in the middle; PostgreSQL spread over the traffic, the
        # first after a fifth of it, the last at three quarters; between them uvicorn workers
        schedule = [(self.rng.uniform(0.35, 0.6), self.kill_server)]
        schedule += [((0.2 + 0.55 * n / (planned - 1)) if planned > 1 else 0.75, self.restart_postgres)
                     for n in range(planned)]
        if self.jobs is not None:
            schedule.append((self.rng.uniform(0.2, 0.7), self.kill_job_worker))
        schedule = sorted(((started + seconds * fraction, action) for fraction, action in schedule),
                          key=lambda item: item[0])
        while not stop.wait(self.rng.uniform(*WORKER_KILL_EVERY_S)):
            self.supervise()
            due = [action for at, action in schedule if at <= time.monotonic()]
            schedule = schedule[len(due):]
            for action in due:
                action()
            if not schedule:
                self.schedule_done.set()
            if not due:
                self.kill_a_worker()

    def kill_a_worker(self) -> None:
        workers = self.process.uvicorn_workers()
        if not workers:
            return
        victim = self.rng.choice(workers)
        try:
            os.kill(victim, signal.SIGKILL)
        except ProcessLookupError:
            return
        self.worker_kills += 1
        self.log.append(f"SIGKILL worker {victim}")

    def kill_server(self) -> None:
        self.process.kill_all()
        self.server_kills += 1
        self.log.append("SIGKILL the whole server")
        time.sleep(self.rng.uniform(0.2, 1.0))
        self.process.start()
        self.log.append("server restarted")

    def supervise(self) -> None:
        """What systemd would do for ``amanah worker``: start it again if it exited (it does
        when it starts while PostgreSQL is down: its migrations check cannot connect)."""
        if self.jobs is not None and self.jobs.process is not None and self.jobs.process.poll() is not None:
            self.job_worker_exits += 1
            self.log.append(f"amanah worker had exited ({self.jobs.process.returncode}): started again")
            self.jobs.start(wait=False)

    def kill_job_worker(self) -> None:
        """SIGKILL to ``amanah worker`` (it delivers the webhooks): what it had claimed waits
        out its lease before anyone sends it again."""
        self.jobs.kill_all()
        self.job_worker_kills += 1
        self.log.append("SIGKILL amanah worker")
        time.sleep(self.rng.uniform(0.2, 1.0))
        self.jobs.start(wait=False)

    def restart_postgres(self) -> None:
        """Alternately a fast crash (``pg_ctl restart -m immediate``: no checkpoint, the backends
        are told to quit at once) and a hard one (SIGKILL to the postmaster, then a start that
        recovers from the WAL). Either way every connection of the server dies mid-request."""
        started = time.monotonic()
        if self.postgres_restarts % 2 == 0:
            how = "pg_ctl restart -m immediate"
            self.postgres.restart(mode="immediate")
        else:
            how = "SIGKILL the postmaster, start"
            self.postgres.crash_and_start()
        self.postgres_restarts += 1
        self.log.append(f"PostgreSQL: {how} ({time.monotonic() - started:.1f} s)")


@pytest.fixture
def bank_database():
    """A database on a PostgreSQL cluster of the test's own (which it may crash), or, where
    no cluster can be started here, on the shared server (never restarted)."""
    if not private_postgres.available():
        from tests.conftest import _create_postgres_database, _drop_postgres_database

        url = _create_postgres_database()
        engine = create_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
        try:
            yield url, None
        finally:
            _drop_postgres_database(url)
        return
    with private_postgres.private_postgres() as cluster:
        url = cluster.create_database("bank")
        engine = create_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
        yield url, cluster


@pytest.fixture
def bank(bank_database, tmp_path, vault_key_file):
    database_url, cluster = bank_database
    port = free_port()
    env = base_env(database_url, tmp_path / "data", vault_key_file, port)
    # test mode runs no jobs inside `serve`: the webhooks go out through `amanah worker`, as
    # in a deployment of several processes
    process = server(tmp_path, "bank-server", env, port, "--workers", "2", "--no-jobs")
    process.start()
    jobs = Process(["worker"], env, tmp_path / "bank-worker.log")
    jobs.start(wait=False)
    receiver = start_receiver()
    try:
        yield process, env, database_url, cluster, receiver, jobs
    finally:
        process.stop()
        jobs.stop()
        receiver.server.shutdown()
        receiver.server.server_close()


def _set_up(url: str, env: dict, buyers_total: int = BUYERS) -> World:
    created = amanah(env, "platforms", "create", "Bank Bazaar")
    assert created.returncode == 0, created.stderr
    platform_key = created.stdout.strip()
    sellers = [_post_ok(url, "/v1/sellers", {"platform_seller_id": f"s{n}", "email": f"seller{n}@example.com",
                                              "name": f"Seller {n}"}, platform_key)["id"] for n in range(2)]
    buyers = []
    for n in range(buyers_total):
        email, password = f"buyer{n}@example.com", f"correct horse {n} battery"
        user = _post_ok(url, "/v1/users", {"email": email, "password": password, "name": f"Buyer {n}"})
        token = _post_ok(url, "/v1/auth/token", {"email": email, "password": password})["access_token"]
        card = _post_ok(url, "/v1/me/cards", {"number": "4242424242424242", "exp_month": 12, "exp_year": 2035,
                                              "cvc": "123", "holder_name": "Dewi Lestari"}, token)
        topup = _post_ok(url, "/v1/me/topups", {"amount": START_BALANCE, "currency": CURRENCY,
                                                "card_id": card["id"]}, token)
        assert topup["status"] == "succeeded", topup
        buyers.append(Buyer(email, f"b{n}", user["id"], token, card["id"]))
    return World(url, platform_key, sellers, buyers)


def _wait_out_the_lease_and_retry(world: World) -> int:
    """Requests whose answer was never stored stay "in flight" until the lease ends; then a
    retry runs them again. Do it: the domain's guards must stop any second effect."""
    unknown = [op for op in world.ops if op.outcome == UNKNOWN]
    if not unknown:
        return 0
    time.sleep(limits.IDEMPOTENCY_LEASE_S + 5)
    with httpx.Client() as http:
        for op in unknown:
            op.outcome = None
            send(http, lambda: world.url, op, world.counters, attempts_max=op.attempts + 10,
                 deadline=time.monotonic() + 30, in_flight_patience_s=10.0)
    return len(unknown)


def _wait_for_workers(process, count: int, timeout_s: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if len(process.uvicorn_workers()) >= count:
            return True
        time.sleep(0.2)
    return False


# --- webhooks ------------------------------------------------------------------------------

WEBHOOK_EVENTS = ["trade.held", "trade.completed", "trade.refunded"]


def _subscribe(world: World, receiver: Receiver) -> None:
    endpoint = _post_ok(world.url, "/v1/webhook_endpoints", {"url": receiver.url, "events": WEBHOOK_EVENTS},
                        world.platform_key)
    receiver.secret = endpoint["secret"]


def _change_of(payload: dict) -> tuple[str, str]:
    """The committed change a webhook tells of: (type, trade id) or, for a refund, (type, refund id)."""
    data = payload.get("data") or {}
    if payload.get("type") == "trade.refunded":
        return payload["type"], (data.get("refund") or {}).get("id", "?")
    return payload.get("type", "?"), data.get("id", "?")


def _expected_webhooks(database_url: str) -> set[tuple[str, str]]:
    """Every change in the books that must have made a webhook, read from the domain's own
    tables (not from the outbox, which would only check the outbox against itself)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as c:
            transfer_ids = set(c.execute(sa.text("SELECT id FROM ledger_transfers")).scalars())
            trade_ids = list(c.execute(sa.text("SELECT id FROM trades")).scalars())
            refund_ids = list(c.execute(sa.text("SELECT id FROM refunds")).scalars())
    finally:
        engine.dispose()
    expected = {("trade.held", trade_id) for trade_id in trade_ids if f"{trade_id}:hold:1" in transfer_ids}
    expected |= {("trade.completed", trade_id) for trade_id in trade_ids if f"{trade_id}:release" in transfer_ids}
    expected |= {("trade.refunded", refund_id) for refund_id in refund_ids}
    return expected


def _received(receiver: Receiver) -> dict[str, dict]:
    """Verified, acknowledged deliveries by ``webhook-id`` (a redelivery counts once)."""
    with receiver.lock:
        items = list(receiver.received)
    return {item.headers.get("webhook-id", "?"): item.payload for item in items
            if item.verified and 200 <= item.status < 300}


@dataclass
class WebhookReport:
    expected: int = 0
    delivered: int = 0
    deliveries_received: int = 0
    redelivered: int = 0
    unverified: int = 0
    by_the_server_s: float = 0.0
    after_fast_forward: int = 0
    waiting: str = ""
    """Why the pending deliveries were not sent when the wait ended."""


def _drain_webhooks(database_url: str, env: dict, receiver: Receiver, vault_key_file) -> tuple[list[str], WebhookReport]:
    """Waits (up to ``WEBHOOK_DRAIN_S``) for the server's delivery job to bring every expected
    webhook to the receiver. What a SIGKILL or a database crash left claimed by a dead worker
    waits out ``WEBHOOK_CLAIM_LEASE_S`` (and a failed attempt its back-off) before anyone
    sends it again: what is still missing then is delivered by running the delivery job here
    with its clock moved past those leases, as the server would after waiting them out."""
    report = WebhookReport()
    expected = _expected_webhooks(database_url)
    report.expected = len(expected)
    started = time.monotonic()

    def missing() -> set[tuple[str, str]]:
        return expected - {_change_of(payload) for payload in _received(receiver).values()}

    engine = create_engine(database_url)

    def due_now() -> int:
        """Pending deliveries that a live worker may send now (not held by a dead one's claim
        nor waiting out a back-off)."""
        now = datetime.now(timezone.utc)
        with engine.connect() as c:
            return c.execute(sa.select(sa.func.count()).select_from(deliveries).where(
                deliveries.c.status == "pending", deliveries.c.next_attempt_at <= now,
                sa.or_(deliveries.c.claimed_until.is_(None), deliveries.c.claimed_until <= now))).scalar()

    idle_checks = 0
    while missing() and time.monotonic() - started < WEBHOOK_DRAIN_S:
        # nothing left that the worker could send now: the rest waits out leases or back-offs
        idle_checks = idle_checks + 1 if due_now() == 0 else 0
        if idle_checks >= 3 and not LONG:
            break
        time.sleep(0.5)
    report.by_the_server_s = time.monotonic() - started
    left = missing()
    now = datetime.now(timezone.utc)
    with engine.connect() as c:
        pending = c.execute(sa.select(deliveries.c.claimed_until, deliveries.c.next_attempt_at, deliveries.c.attempts,
                                      deliveries.c.last_error).where(deliveries.c.status == "pending")).all()
    reasons = Counter("claimed by a dead worker" if row.claimed_until and row.claimed_until > now else
                      f"backing off ({(row.last_error or '')[:60]})" if row.next_attempt_at > now else
                      "due (or behind an earlier one of its trade)" for row in pending)
    report.waiting = ", ".join(f"{count} {reason}" for reason, count in reasons.most_common()) or "none"
    if left:
        settings = Settings(env="test", database_url=database_url, data_dir=Path(env["AMANAH_DATA_DIR"]),
                            base_url=env["AMANAH_BASE_URL"], captcha="test", webhook_allow_private=True,
                            vault_key_file=vault_key_file)
        try:
            for _round in range(50):
                with engine.connect() as c:
                    latest = c.execute(sa.select(sa.func.max(sa.func.greatest(
                        deliveries.c.next_attempt_at, sa.func.coalesce(deliveries.c.claimed_until,
                                                                       deliveries.c.next_attempt_at))))
                        .where(deliveries.c.status == "pending")).scalar()
                if latest is None:
                    break
                later = max(latest, datetime.now(timezone.utc)) + timedelta(seconds=1)
                while deliver_due(engine, settings, later) > 0:
                    pass
        finally:
            engine.dispose()
        report.after_fast_forward = len(left - missing())
    engine.dispose()
    violations = []
    received = _received(receiver)
    with receiver.lock:
        report.deliveries_received = len(receiver.received)
        report.unverified = sum(1 for item in receiver.received if not item.verified)
    report.redelivered = report.deliveries_received - report.unverified - len(received)
    changes = Counter(_change_of(payload) for payload in received.values())
    report.delivered = len(expected & set(changes))
    violations += [f"webhook {kind} for {subject} never delivered" for kind, subject in sorted(expected - set(changes))]
    violations += [f"webhook {kind} for {subject}, which is not in the books" for kind, subject in
                   sorted(set(changes) - expected)]
    violations += [f"webhook {kind} for {subject} emitted {count} times (the change ran {count} times?)"
                   for (kind, subject), count in sorted(changes.items()) if count > 1]
    if report.unverified:
        violations.append(f"{report.unverified} webhooks failed signature verification")
    return violations, report


# --- the checks ---------------------------------------------------------------------------

def _check(world: World, database_url: str, env: dict) -> tuple[list[str], dict]:
    violations: list[str] = []
    engine = create_engine(database_url)
    with engine.connect() as c:
        trades = {row.out_trade_no: row for row in c.execute(sa.text(
            "SELECT id, out_trade_no, status, amount, refunded_amount, held_amount FROM trades"))}
        transfer_ids = set(c.execute(sa.text("SELECT id FROM ledger_transfers")).scalars())
        refunds_by_reason = defaultdict(list)
        refunded_by_trade = Counter()
        for row in c.execute(sa.text("SELECT id, trade_id, amount, reason FROM refunds")):
            refunds_by_reason[row.reason].append(row)
            refunded_by_trade[row.trade_id] += row.amount
        topups_by_amount = defaultdict(list)
        topup_statuses = defaultdict(list)
        for row in c.execute(sa.text("SELECT user_id, amount, status FROM topups")):
            topup_statuses[(row.user_id, row.amount)].append(row.status)
        for row in c.execute(sa.text("SELECT id, user_id, amount, status FROM topups WHERE status = 'succeeded'")):
            topups_by_amount[(row.user_id, row.amount)].append(row)
        negative = c.execute(sa.text(
            "SELECT id, kind, owner_ref FROM ledger_accounts WHERE "
            "(debits_must_not_exceed_credits AND debits_posted + debits_pending > credits_posted) OR "
            "(credits_must_not_exceed_debits AND credits_posted + credits_pending > debits_posted)")).all()
        totals = c.execute(sa.text(
            "SELECT currency, sum(debits_posted) d, sum(credits_posted) cr, sum(debits_pending) dp, "
            "sum(credits_pending) cp FROM ledger_accounts GROUP BY currency")).all()
    engine.dispose()

    def applied_count(op: Op) -> int:
        if op.kind == "create":
            return 1 if op.meta["out_trade_no"] in trades else 0
        if op.kind == "pay":
            return 1 if f"{op.meta['trade_id']}:hold:1" in transfer_ids else 0
        if op.kind == "confirm":
            return 1 if f"{op.meta['trade_id']}:release" in transfer_ids else 0
        if op.kind == "refund":
            rows = refunds_by_reason.get(op.body["reason"], [])
            for row in rows:
                if f"{row.id}:void" not in transfer_ids and f"{row.id}:refund" not in transfer_ids:
                    violations.append(f"refund {row.id} ({op.name}) has no ledger transfer")
            return len(rows)
        if op.kind == "topup":
            return len(topups_by_amount.get((op.meta["user_id"], op.body["amount"]), []))
        raise AssertionError(op.kind)

    pending_topups = Counter()
    for op in world.ops:
        count = applied_count(op)
        if op.outcome == OK and op.kind == "topup" and op.answer.get("status") != "succeeded":
            now_held = topup_statuses.get((op.meta["user_id"], op.body["amount"])) or ["none"]
            pending_topups[f"{op.answer.get('status')}->{'/'.join(now_held)}"] += 1
            if SETTLE_AFTER_LEASE and "processing" in now_held:
                # minutes later, with the charge-recovery job running: nothing will finish it
                violations.append(f"{op.name} (topup) acknowledged as processing and still processing after the "
                                  f"lease and the recovery jobs: stuck")
            # accepted, not done ("processing": the card network is asked later): once at most
            if count > 1:
                violations.append(f"{op.name} (topup) acknowledged as {op.answer.get('status')} but applied "
                                  f"{count} times")
        elif op.outcome == OK and count != 1:
            seen = (f"; answered {op.answer.get('status')}, the books hold "
                    f"{topup_statuses.get((op.meta['user_id'], op.body['amount']))}" if op.kind == "topup" else "")
            violations.append(f"{op.name} ({op.kind}) acknowledged but applied {count} times{seen}")
        elif op.outcome == REFUSED and count != 0:
            violations.append(f"{op.name} ({op.kind}) refused ({op.status} {op.answer}) but applied {count} times")
        elif op.outcome == UNKNOWN and count > 1:
            violations.append(f"{op.name} ({op.kind}) outcome unknown but applied {count} times")
        if op.outcome == OK and op.kind in {"refund", "topup"} and count == 1:
            row = (refunds_by_reason[op.body["reason"]] if op.kind == "refund"
                   else topups_by_amount[(op.meta["user_id"], op.body["amount"])])[0]
            if row.id != op.answer["id"]:
                violations.append(f"{op.name}: acknowledged as {op.answer['id']}, the books hold {row.id}")
    for trade in trades.values():
        if refunded_by_trade[trade.id] != trade.refunded_amount:
            violations.append(f"trade {trade.id}: refunded_amount {trade.refunded_amount} but refunds sum to "
                              f"{refunded_by_trade[trade.id]}")
        if trade.refunded_amount > trade.amount:
            violations.append(f"trade {trade.id}: refunded {trade.refunded_amount} of {trade.amount}")
    violations += [f"account {row.id} ({row.kind} {row.owner_ref}) is over its limit" for row in negative]
    for row in totals:
        if row.d != row.cr or row.dp != row.cp:
            violations.append(f"{row.currency}: debits {row.d}/{row.dp} vs credits {row.cr}/{row.cp}")
    verified = amanah(env, "ledger", "verify")
    if verified.returncode != 0:
        violations.append(f"amanah ledger verify: exit {verified.returncode}: {verified.stdout} {verified.stderr}")
    return violations, {"trades": len(trades), "transfers": len(transfer_ids), "pending_topups": pending_topups}


def test_every_acknowledged_request_is_in_the_books_exactly_once_through_crashes(bank, vault_key_file):
    process, env, database_url, cluster, receiver, jobs = bank
    world = _set_up(process.url, env)
    _subscribe(world, receiver)
    stop = threading.Event()
    chaos = Chaos(process, seed=int(time.time()), postgres=cluster, postgres_restarts=PG_RESTARTS,
                  jobs=jobs)
    clients = [threading.Thread(target=world.client, args=(n, stop), daemon=True) for n in range(CLIENTS)]
    chaos_thread = threading.Thread(target=chaos.run, args=(stop, SECONDS), daemon=True)
    started = time.monotonic()
    for thread in clients:
        thread.start()
    chaos_thread.start()
    stop.wait(SECONDS)
    chaos.schedule_done.wait(60)  # a slow restart must not push a planned crash past the traffic
    stop.set()
    chaos_thread.join(60)
    for thread in clients:
        thread.join(OP_TIME_MAX_S * 2)
    assert not any(thread.is_alive() for thread in clients), "a client never finished"
    traffic_s = time.monotonic() - started
    # the server must be serving again by itself: uvicorn replaced the killed workers
    process.wait_healthy()
    workers_back = _wait_for_workers(process, 2)
    retried_after_lease = _wait_out_the_lease_and_retry(world) if SETTLE_AFTER_LEASE else 0
    chaos.supervise()

    violations, books = _check(world, database_url, env)
    webhook_violations, webhooks = _drain_webhooks(database_url, env, receiver, vault_key_file)
    violations += webhook_violations
    outcomes = Counter(op.outcome for op in world.ops)
    kinds = Counter(f"{op.kind}:{op.outcome}" for op in world.ops)
    counters = world.counters
    print(f"\nbank test ({'long' if LONG else 'short'} profile): {traffic_s:.1f} s of traffic, {CLIENTS} clients, "
          f"{len(world.buyers)} buyers, 2 uvicorn workers, PostgreSQL "
          f"{'a private cluster' if cluster else 'the shared server (not restarted)'}")
    print(f"  requests (HTTP attempts) {counters.requests}, logical requests {len(world.ops)}, "
          f"acknowledged {outcomes[OK]}, refused {outcomes[REFUSED]}, unknown {outcomes[UNKNOWN]}")
    print(f"  retries {counters.retries} (connection errors {counters.transport_errors}, 5xx "
          f"{counters.server_errors}, 409 in flight {counters.in_flight_409}), replayed answers {counters.replayed}")
    print(f"  kills: uvicorn workers {chaos.worker_kills}, whole server {chaos.server_kills}, "
          f"amanah worker (webhook delivery) {chaos.job_worker_kills} (it exited by itself "
          f"{chaos.job_worker_exits} times), "
          f"PostgreSQL restarts {chaos.postgres_restarts}; retried after the lease {retried_after_lease}; "
          f"uvicorn workers alive at the end {len(process.uvicorn_workers())}")
    print(f"  by kind: {dict(sorted(kinds.items()))}")
    print(f"  webhooks: expected {webhooks.expected}, delivered {webhooks.delivered} (deliveries received "
          f"{webhooks.deliveries_received}, redelivered {webhooks.redelivered}, unverified {webhooks.unverified}; "
          f"{webhooks.after_fast_forward} sent only after the delivery clock was moved past crash-orphaned "
          f"claims, after {webhooks.by_the_server_s:.1f} s of waiting for the server)")
    print(f"  deliveries pending when the wait ended: {webhooks.waiting}")
    for line in chaos.log:
        if line.startswith("PostgreSQL"):
            print(f"  {line}")
    if books["pending_topups"]:
        print(f"  top-ups acknowledged before the card was charged (answered -> now): "
              f"{dict(books['pending_topups'])}")
    print(f"  books: {books['trades']} trades, {books['transfers']} ledger transfers; violations {len(violations)}")
    for line in violations[:30]:
        print(f"  VIOLATION {line}")
    assert workers_back, "uvicorn did not replace the killed workers"
    assert chaos.server_kills >= 1 and chaos.worker_kills >= 1, chaos.log
    assert chaos.postgres_restarts == chaos.postgres_restarts_planned, chaos.log
    assert webhooks.expected > 0
    assert outcomes[OK] > 0
    assert violations == []


# --- the crash window, made to happen ------------------------------------------------------

class TestARequestRunAgainAfterItsLeaseRanOut:
    """A crash after the work committed but before the answer was stored leaves the key in
    flight; after ``IDEMPOTENCY_LEASE_S`` a retry runs the request again. That state is made here
    directly (the key row put back in flight with a lapsed lease) instead of waiting for a
    SIGKILL to land in a window of microseconds; then the same request is sent again and the
    number of effects is counted."""

    @pytest.fixture(scope="class")
    def one_server(self, tmp_path_factory, vault_key_file):
        """One server (it migrates its own new database) for the whole class."""
        from tests.conftest import _create_postgres_database, _drop_postgres_database

        database_url = _create_postgres_database()
        tmp_path = tmp_path_factory.mktemp("lease")
        port = free_port()
        env = base_env(database_url, tmp_path / "data", vault_key_file, port)
        process = server(tmp_path, "server", env, port)
        process.start()
        engine = create_engine(database_url)
        try:
            yield process.url, _set_up(process.url, env, buyers_total=1), engine
        finally:
            process.stop()
            engine.dispose()
            _drop_postgres_database(database_url)

    @staticmethod
    def _as_if_crashed(engine, key: str) -> None:
        from amanah.api.idempotency import keys

        with engine.begin() as c:
            changed = c.execute(keys.update().where(keys.c.key == key).values(
                response_status=None, response_headers=None, response_body=None, lease_token="crashed",
                locked_until=datetime.now(timezone.utc) - timedelta(seconds=1))).rowcount
        assert changed == 1

    def _twice(self, world: World, engine, path: str, body: dict, token: str) -> tuple[httpx.Response, httpx.Response]:
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex}
        first = httpx.post(f"{world.url}{path}", json=body, headers=headers, timeout=15)
        assert first.status_code < 300, first.text
        self._as_if_crashed(engine, headers["Idempotency-Key"])
        second = httpx.post(f"{world.url}{path}", json=body, headers=headers, timeout=15)
        return first, second

    def _paid_trade(self, world: World, amount: int = 1000) -> str:
        buyer = world.buyers[0]
        trade = _post_ok(world.url, "/v1/trades", {
            "out_trade_no": uuid.uuid4().hex[:20], "seller_id": world.sellers[0],
            "buyer": {"platform_user_id": buyer.platform_user_id, "email": buyer.email},
            "amount": amount, "currency": CURRENCY, "subject": "a kettle"}, world.platform_key)
        _post_ok(world.url, f"/v1/trades/{trade['id']}/pay", {"source": "balance"}, buyer.token)
        return trade["id"]

    def test_a_trade_created_again_is_the_same_trade(self, one_server):
        _url, world, engine = one_server
        buyer = world.buyers[0]
        body = {"out_trade_no": "again-1", "seller_id": world.sellers[0],
                "buyer": {"platform_user_id": buyer.platform_user_id, "email": buyer.email},
                "amount": 1234, "currency": CURRENCY, "subject": "a lamp"}
        first, second = self._twice(world, engine, "/v1/trades", body, world.platform_key)
        assert second.status_code < 300 and second.json()["id"] == first.json()["id"]
        with engine.connect() as c:
            assert c.execute(sa.text("SELECT count(*) FROM trades WHERE out_trade_no = 'again-1'")).scalar() == 1

    def test_a_payment_run_again_moves_no_money_twice(self, one_server):
        _url, world, engine = one_server
        buyer = world.buyers[0]
        trade = _post_ok(world.url, "/v1/trades", {
            "out_trade_no": "again-2", "seller_id": world.sellers[0],
            "buyer": {"platform_user_id": buyer.platform_user_id, "email": buyer.email},
            "amount": 2000, "currency": CURRENCY, "subject": "a rug"}, world.platform_key)
        _first, second = self._twice(world, engine, f"/v1/trades/{trade['id']}/pay", {"source": "balance"},
                                     buyer.token)
        # the second run is refused by the trade's state machine (the client is told 409 for a
        # payment that did happen — it must read the trade to learn that)
        assert second.status_code in {200, 409}, second.text
        with engine.connect() as c:
            holds = c.execute(sa.text("SELECT count(*) FROM ledger_transfers WHERE reference = :t AND "
                                      "code = 'trade_hold'"), {"t": trade["id"]}).scalar()
        assert holds == 1

    def test_a_confirmation_run_again_pays_the_seller_once(self, one_server):
        _url, world, engine = one_server
        trade_id = self._paid_trade(world)
        _first, second = self._twice(world, engine, f"/v1/trades/{trade_id}/confirm", {}, world.buyers[0].token)
        assert second.status_code in {200, 409}, second.text
        with engine.connect() as c:
            releases = c.execute(sa.text("SELECT count(*) FROM ledger_transfers WHERE reference = :t AND "
                                         "code = 'trade_release'"), {"t": trade_id}).scalar()
        assert releases == 1

    def test_a_partial_refund_run_again_refunds_once(self, one_server):
        _url, world, engine = one_server
        trade_id = self._paid_trade(world, amount=1000)
        self._twice(world, engine, f"/v1/trades/{trade_id}/refunds", {"amount": 100, "reason": "dented"},
                    world.platform_key)
        with engine.connect() as c:
            count = c.execute(sa.text("SELECT count(*) FROM refunds WHERE trade_id = :t"), {"t": trade_id}).scalar()
        assert count == 1

    def test_a_top_up_run_again_charges_once(self, one_server):
        _url, world, engine = one_server
        buyer = world.buyers[0]
        self._twice(world, engine, "/v1/me/topups", {"amount": 777, "currency": CURRENCY, "card_id": buyer.card_id},
                    buyer.token)
        with engine.connect() as c:
            count = c.execute(sa.text("SELECT count(*) FROM topups WHERE user_id = :u AND amount = 777"),
                              {"u": buyer.user_id}).scalar()
        assert count == 1
