"""Scale-out: two ``amanah serve --no-jobs`` processes and two ``amanah worker`` processes
against one PostgreSQL. Requests are spread over both servers; the background work they leave
behind — welcome e-mails written as ``.eml`` files under each worker's own data directory and
webhooks delivered to a real local HTTP receiver — is due in real time (no test clock, which is
per process) and must be done exactly once, by the workers only."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from amanah.core.db import create_engine
from tests.conftest import _create_postgres_database, _drop_postgres_database
from tests.e2e.conftest import free_port
from tests.reliability.harness import Process, amanah, base_env, server

pytestmark = pytest.mark.postgres_only

USERS = 12
TRADES = 24
DRAIN_TIMEOUT_S = 90.0
EVENTS = ["trade.held", "trade.shipped", "trade.completed", "trade.refunded", "trade.disputed",
          "trade.dispute_resolved", "trade.closed"]


class Receiver:
    """A real HTTP server that records every webhook it is sent."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with receiver.lock:
                    receiver.received.append({"id": self.headers.get("webhook-id"), "body": json.loads(body)})
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.port = free_port()
        self.http = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.http.shutdown()
        self.http.server_close()


def _post(url: str, path: str, body: dict, token: str | None = None) -> dict:
    headers = {"Idempotency-Key": uuid.uuid4().hex}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    response = httpx.post(f"{url}{path}", json=body, headers=headers, timeout=15)
    assert response.status_code < 300, f"{url}{path}: {response.status_code} {response.text}"
    return response.json()


def _processes(database_url: str, tmp_path: Path, vault_key_file: Path) -> tuple[list[Process], list[Process]]:
    servers, workers = [], []
    for name in ("server-a", "server-b"):
        port = free_port()
        env = base_env(database_url, tmp_path / name, vault_key_file, port)
        servers.append(server(tmp_path, name, env, port, "--no-jobs", "--workers", "2"))
    for name in ("worker-1", "worker-2"):
        env = base_env(database_url, tmp_path / name, vault_key_file)
        workers.append(Process(["worker"], env, tmp_path / f"{name}.log"))
    return servers, workers


def _eml_files(directory: Path) -> list[Path]:
    return sorted((directory / "mail").glob("*.eml")) if (directory / "mail").exists() else []


@pytest.fixture
def cluster(fresh_database_url, tmp_path, vault_key_file):
    servers, workers = _processes(fresh_database_url, tmp_path, vault_key_file)
    try:
        for process in servers + workers:
            process.start(wait=False)
        for process in servers:
            process.wait_healthy()
        yield servers, workers, fresh_database_url, tmp_path
    finally:
        for process in servers + workers:
            process.stop()


def _drain(engine, endpoint_id: str) -> tuple[int, int]:
    """Waits (bounded) until the outboxes are empty; returns what is still waiting."""
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while True:
        with engine.connect() as c:
            mail_waiting = c.execute(sa.text("SELECT count(*) FROM mail_outbox WHERE status <> 'sent'")).scalar()
            hooks_waiting = c.execute(sa.text("SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = :e "
                                              "AND status <> 'succeeded'"), {"e": endpoint_id}).scalar()
        if (mail_waiting == 0 and hooks_waiting == 0) or time.monotonic() > deadline:
            return mail_waiting, hooks_waiting
        time.sleep(0.5)


def test_two_servers_and_two_workers_share_the_work_and_do_it_once(cluster):
    servers, workers, database_url, tmp_path = cluster
    urls = [process.url for process in servers]
    env = servers[0].env
    platform_key = amanah(env, "platforms", "create", "Scale Bazaar").stdout.strip()
    assert platform_key.startswith("sk_")
    with Receiver() as receiver:
        endpoint = _post(urls[1], "/v1/webhook_endpoints",
                         {"url": f"http://127.0.0.1:{receiver.port}/hooks", "events": EVENTS}, platform_key)
        seller = _post(urls[0], "/v1/sellers", {"platform_seller_id": "s1", "email": "seller@example.com",
                                                "name": "Seller"}, platform_key)["id"]
        served_by = Counter()
        buyers = []
        for n in range(USERS):  # each registration queues one e-mail (verify the address)
            url = urls[n % 2]
            email, password = f"buyer{n}@example.com", f"correct horse battery {n}"
            _post(url, "/v1/users", {"email": email, "password": password, "name": f"Buyer {n}"})
            token = _post(urls[(n + 1) % 2], "/v1/auth/token", {"email": email, "password": password})["access_token"]
            card = _post(url, "/v1/me/cards", {"number": "4242424242424242", "exp_month": 12, "exp_year": 2035,
                                               "cvc": "123", "holder_name": "Dewi Lestari"}, token)["id"]
            _post(urls[(n + 1) % 2], "/v1/me/topups", {"amount": 100_000, "currency": "USD", "card_id": card}, token)
            buyers.append((email, f"b{n}", token))
            served_by.update({url: 2, urls[(n + 1) % 2]: 2})
        trade_ids = []
        for n in range(TRADES):  # create, pay, ship and confirm, each step on the other server
            email, platform_user_id, token = buyers[n % USERS]
            trade = _post(urls[n % 2], "/v1/trades", {
                "out_trade_no": f"scale-{n}", "seller_id": seller, "amount": 1000 + n, "currency": "USD",
                "buyer": {"platform_user_id": platform_user_id, "email": email}, "subject": f"order {n}",
                "fee": {"bps": 250}}, platform_key)
            _post(urls[(n + 1) % 2], f"/v1/trades/{trade['id']}/pay", {"source": "balance"}, token)
            _post(urls[n % 2], f"/v1/trades/{trade['id']}/ship", {"carrier": "DHL", "tracking_number": f"T{n}"},
                  platform_key)
            _post(urls[(n + 1) % 2], f"/v1/trades/{trade['id']}/confirm", {}, token)
            trade_ids.append(trade["id"])
            served_by.update({urls[0]: 2, urls[1]: 2})

        engine = create_engine(database_url)
        mail_waiting, hooks_waiting = _drain(engine, endpoint["id"])
        time.sleep(2)  # a duplicate delivery, if any, has a moment to arrive
        with engine.connect() as c:
            mail_to = Counter(c.execute(sa.text("SELECT to_address FROM mail_outbox")).scalars())
            mail_rows = sum(mail_to.values())
            templates = Counter(c.execute(sa.text("SELECT template FROM mail_outbox")).scalars())
            event_rows = c.execute(sa.text(
                "SELECT e.id, e.type, e.subject_id FROM webhook_deliveries d JOIN webhook_events e ON "
                "e.id = d.event_id WHERE d.endpoint_id = :e ORDER BY d.seq"), {"e": endpoint["id"]}).all()
            attempts = c.execute(sa.text("SELECT sum(attempts) FROM webhook_deliveries WHERE endpoint_id = :e"),
                                 {"e": endpoint["id"]}).scalar()
        engine.dispose()
        received = list(receiver.received)

    mail_by_worker = {process.log_path.stem: len(_eml_files(Path(process.env["AMANAH_DATA_DIR"])))
                      for process in workers}
    mail_by_server = {process.log_path.stem: len(_eml_files(Path(process.env["AMANAH_DATA_DIR"]))) for process in servers}
    recipients = Counter()
    for process in workers:
        for path in _eml_files(Path(process.env["AMANAH_DATA_DIR"])):
            recipients.update(line.split(":", 1)[1].strip() for line in path.read_text().splitlines()
                              if line.lower().startswith("to:"))
    received_ids = Counter(item["id"] for item in received)
    order = defaultdict(list)
    for item in received:
        order[item["body"]["data"]["id"]].append(item["body"]["type"])
    verified = amanah(env, "ledger", "verify")

    print(f"\nscale-out: 2 servers (--no-jobs, 2 uvicorn workers each) + 2 workers; requests per server "
          f"{dict(served_by)}")
    print(f"  mail: {mail_rows} queued {dict(templates)}, .eml files by worker {mail_by_worker}, by server {mail_by_server}, "
          f"still waiting {mail_waiting}")
    print(f"  webhooks: {len(event_rows)} deliveries, {len(received)} received ({len(received_ids)} distinct ids), "
          f"{attempts} attempts, still waiting {hooks_waiting}")

    assert mail_waiting == 0 and hooks_waiting == 0
    assert all(count == 0 for count in mail_by_server.values()), "a --no-jobs server delivered mail"
    assert templates["verify_email"] >= USERS
    assert sum(mail_by_worker.values()) == mail_rows, "an e-mail was written twice, or not at all"
    assert recipients == mail_to, "the .eml files' recipients differ from the outbox"
    assert len(event_rows) == 3 * TRADES  # held, shipped, completed
    assert {row.id for row in event_rows} == set(received_ids), "received events differ from the outbox"
    assert set(received_ids.values()) == {1}, "a webhook was delivered twice"
    assert all(order[trade_id] == ["trade.held", "trade.shipped", "trade.completed"] for trade_id in trade_ids), \
        "webhooks about one trade arrived out of order"
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert all(process.process.poll() is None for process in servers + workers), "a process died"


def test_four_processes_started_at_once_on_an_empty_database_all_come_up(tmp_path, vault_key_file):
    database_url = _create_postgres_database()  # empty: not migrated
    servers, workers = _processes(database_url, tmp_path, vault_key_file)
    try:
        for process in servers + workers:
            process.start(wait=False)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if any(process.process.poll() is not None for process in servers + workers):
                break
            try:
                if all(httpx.get(f"{process.url}/healthz", timeout=1).status_code == 200 for process in servers) and \
                        all("worker running" in process.log_path.read_text() for process in workers):
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        time.sleep(1)
        died = [process.log_path.stem for process in servers + workers if process.process.poll() is not None]
        assert died == [], "\n".join(Path(p.log_path).read_text()[-1500:] for p in servers + workers
                                     if p.process.poll() is not None)
    finally:
        for process in servers + workers:
            process.stop()
        _drop_postgres_database(database_url)
