"""Request ids, JSON log lines and Prometheus metrics."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

from amanah.api.observability import JSONFormatter, request_id


class TestRequestIds:
    def test_every_response_carries_a_request_id(self, client):
        response = client.get("/healthz")
        assert response.headers["x-request-id"].startswith("req_")

    def test_a_sane_id_from_the_caller_is_kept_and_a_strange_one_replaced(self, client):
        assert client.get("/healthz", headers={"X-Request-ID": "lb-7f3a9c21"}).headers["x-request-id"] == "lb-7f3a9c21"
        replaced = client.get("/healthz", headers={"X-Request-ID": "<script>"}).headers["x-request-id"]
        assert replaced.startswith("req_")


class TestMetrics:
    def test_requests_are_counted_by_route_template_and_status(self, client):
        client.get("/v1/trades/trd_does_not_exist")
        text = client.get("/metrics").text
        assert 'amanah_http_requests_total{method="GET",route="/v1/trades/{trade_id}",status="401"}' in text
        assert "amanah_http_request_seconds_bucket" in text


class TestJSONLogs:
    def test_a_log_line_is_one_json_object_with_the_request_id(self):
        token = request_id.set("req_test")
        try:
            record = logging.LogRecord("amanah.test", logging.INFO, __file__, 1, "paid %s", ("trd_1",), None)
            line = json.loads(JSONFormatter().format(record))
        finally:
            request_id.reset(token)
        assert line["message"] == "paid trd_1" and line["request_id"] == "req_test" and line["level"] == "info"


# --- what the numbers come from -------------------------------------------------------------

import os  # noqa: E402
import secrets  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402

import httpx  # noqa: E402
import pytest  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from amanah import ledger  # noqa: E402
from amanah.core.clock import clock  # noqa: E402
from amanah.core.db import run_in_transaction  # noqa: E402
from amanah.ledger import AccountKind, TransferRequest  # noqa: E402
from amanah.ledger.models import transfers  # noqa: E402
from amanah.platforms import service as platforms  # noqa: E402
from amanah.platforms.webhooks import service as webhooks  # noqa: E402
from amanah.platforms.webhooks.jobs import deliver_due  # noqa: E402
from tests.e2e.conftest import free_port, wait_until_healthy  # noqa: E402
from tests.integration.trades.conftest import make_market  # noqa: E402


def _samples(client) -> dict[tuple[str, tuple], float]:
    """Every sample of ``/metrics`` by (name, sorted labels)."""
    text = client.get("/metrics").text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def _value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def _transfers_by_kind(engine) -> dict[str, int]:
    with engine.connect() as connection:
        rows = connection.execute(sa.select(transfers.c.kind, sa.func.count()).group_by(transfers.c.kind)).all()
    return {kind: count for kind, count in rows}


class TestLedgerMetrics:
    def test_a_payment_shows_its_committed_transfers_and_batches(self, client, engine):
        market = make_market(client, engine)
        before, rows_before = _samples(client), _transfers_by_kind(engine)
        market.paid_trade(1500)  # a funding (one batch), then the payment into escrow (another)
        after, rows_after = _samples(client), _transfers_by_kind(engine)
        written = {kind: rows_after[kind] - rows_before.get(kind, 0) for kind in rows_after}
        assert written.get("pending", 0) >= 1
        for kind in ("direct", "pending", "post_pending", "void_pending"):
            counted = (_value(after, "amanah_ledger_transfers_committed_total", kind=kind)
                       - _value(before, "amanah_ledger_transfers_committed_total", kind=kind))
            assert counted == written.get(kind, 0), kind
        batches = (_value(after, "amanah_ledger_batch_transfers_count")
                   - _value(before, "amanah_ledger_batch_transfers_count"))
        summed = _value(after, "amanah_ledger_batch_transfers_sum") - _value(before, "amanah_ledger_batch_transfers_sum")
        assert batches >= 2 and summed == sum(written.values())

    def test_a_batch_rolled_back_is_not_counted(self, client, engine):
        before = _samples(client)

        def pay_then_fail(connection):
            now = clock.now()
            clearing = ledger.open_account(connection, kind=AccountKind.CARD_CLEARING, owner_ref="metrics-test",
                                           currency="USD", now=now)
            wallet = ledger.open_account(connection, kind=AccountKind.USER_WALLET, owner_ref="metrics-test",
                                         currency="USD", now=now)
            ledger.create_transfer(connection, TransferRequest.direct(
                f"metrics_{secrets.token_hex(6)}", debit=clearing.id, credit=wallet.id, amount=100, code="test"), now=now)
            raise RuntimeError("the request failed after the ledger wrote")

        with pytest.raises(RuntimeError):
            run_in_transaction(engine, pay_then_fail)
        # In a group commit the batch commits, but the failed unit's savepoint was rolled back.
        with pytest.raises(RuntimeError):
            run_in_transaction(engine, pay_then_fail, group=True)
        after = _samples(client)
        assert (_value(after, "amanah_ledger_transfers_committed_total", kind="direct")
                == _value(before, "amanah_ledger_transfers_committed_total", kind="direct"))
        assert _value(after, "amanah_ledger_batch_transfers_count") == _value(before, "amanah_ledger_batch_transfers_count")


def _pending_deliveries_due_between(engine, start, end) -> int:
    from amanah.platforms.webhooks.models import deliveries

    with engine.connect() as connection:
        return connection.execute(sa.select(sa.func.count()).select_from(deliveries).where(
            deliveries.c.status == "pending", deliveries.c.next_attempt_at > start,
            deliveries.c.next_attempt_at <= end)).scalar_one()


class TestQueuesAndWebhooks:
    def test_an_undelivered_webhook_shows_in_the_queue_and_its_failed_attempt_is_counted(self, client, engine, settings):
        def subscribe_and_emit(connection):
            now = clock.now()
            platform, _key = platforms.create_platform(connection, name=f"Metrics {secrets.token_hex(3)}", now=now)
            # Nothing listens on the discard port: every attempt fails at once.
            webhooks.create_endpoint(connection, platform.id, url="http://127.0.0.1:9/hooks",
                                     event_types=["trade.held"], allow_private=True, now=now)
            webhooks.emit(connection, platform_id=platform.id, event_type="trade.held", subject_id="trd_metrics",
                          data={"id": "trd_metrics"}, now=now)

        started = clock.now()
        before = _samples(client)
        run_in_transaction(engine, subscribe_and_emit)
        queued = _samples(client)
        # Earlier tests' deliveries waiting for a retry may come due between the two scrapes.
        came_due = _pending_deliveries_due_between(engine, started, clock.now())
        queue = {"queue": "webhooks.deliver"}
        assert _value(queued, "amanah_job_queue_depth", **queue) == _value(before, "amanah_job_queue_depth", **queue) + 1
        due_before = _value(before, "amanah_job_queue_due", **queue)
        assert due_before + 1 <= _value(queued, "amanah_job_queue_due", **queue) <= due_before + 1 + came_due
        assert _value(queued, "amanah_job_queue_lag_seconds", **queue) >= 0
        attempted = deliver_due(engine, settings, clock.now())
        assert attempted >= 1
        after = _samples(client)
        retrying = {"outcome": "failed_retrying"}
        assert (_value(after, "amanah_webhook_deliveries_total", **retrying)
                - _value(before, "amanah_webhook_deliveries_total", **retrying)) >= 1
        # Still waiting (for its retry), but no longer due.
        assert _value(after, "amanah_job_queue_depth", **queue) == _value(queued, "amanah_job_queue_depth", **queue)
        assert _value(after, "amanah_job_queue_due", **queue) < _value(queued, "amanah_job_queue_due", **queue)

    def test_every_job_queue_is_reported(self, client):
        samples = _samples(client)
        queues = {dict(labels)["queue"] for name, labels in samples if name == "amanah_job_queue_depth"}
        assert {"mail.deliver", "webhooks.deliver", "trades.auto_release", "trades.expire_unpaid",
                "ledger.expire_holds", "wallet.withdrawals_processing"} <= queues


class _Lines(logging.Handler):
    """Formats each record as it is made (inside the request), as the server's handler does."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JSONFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


class TestRequestLogLines:
    def test_the_access_line_carries_the_request_id_and_no_secret(self, client):
        handler, access = _Lines(), logging.getLogger("amanah.access")
        access.addHandler(handler)
        old_level = access.level
        access.setLevel(logging.INFO)
        secret_token, secret_query = f"ut_{secrets.token_hex(16)}", secrets.token_hex(12)
        try:
            response = client.get(f"/v1/trades/trd_nothing?token={secret_query}",
                                  headers={"Authorization": f"Bearer {secret_token}"})
        finally:
            access.removeHandler(handler)
            access.setLevel(old_level)
        lines = [json.loads(line) for line in handler.lines]
        mine = [line for line in lines if line["request_id"] == response.headers["x-request-id"]]
        assert len(mine) == 1 and "/v1/trades/{trade_id}" in mine[0]["message"]
        assert not any(secret_token in line or secret_query in line for line in handler.lines)


class TestSeveralWorkers:
    def test_request_counts_are_summed_over_both_workers(self, fresh_database_url, tmp_path, vault_key_file):
        metrics_dir = tmp_path / "metrics"
        port = free_port()
        env = {**os.environ, "AMANAH_ENV": "test", "AMANAH_DATABASE_URL": fresh_database_url,
               "AMANAH_DATA_DIR": str(tmp_path / "data"), "AMANAH_VAULT_KEY_FILE": str(vault_key_file),
               "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
        with open(tmp_path / "server.log", "w") as log:
            process = subprocess.Popen([sys.executable, "-m", "amanah", "serve", "--port", str(port), "--workers", "2"],
                                       env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_healthy(url, process, tmp_path / "server.log", 60)
            sent = 0
            with ThreadPoolExecutor(max_workers=8) as pool:  # fresh connections, side by side
                while len(list(metrics_dir.glob("counter_*.db"))) < 2 and sent < 800:
                    answers = list(pool.map(lambda _: httpx.get(f"{url}/v1/currencies", timeout=10).status_code,
                                            range(40)))
                    assert answers == [200] * 40
                    sent += 40
            assert len(list(metrics_dir.glob("counter_*.db"))) == 2, "one worker took every request"
            text = httpx.get(f"{url}/metrics", timeout=10).text
            counted = [s.value for family in text_string_to_metric_families(text) for s in family.samples
                       if s.name == "amanah_http_requests_total" and s.labels.get("route") == "/v1/currencies"]
            assert counted == [sent]
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(20)


class TestWorkerMetrics:
    def test_a_worker_serves_the_transfers_its_jobs_commit(self, fresh_database_url, tmp_path, vault_key_file):
        from amanah.core.db import create_engine

        engine = create_engine(fresh_database_url)

        def hold_for_a_second(connection):
            # The worker's clock is the real one; this process's test clock may have been
            # moved forward by earlier tests, which would put the hold's timeout days ahead.
            now = datetime.now(timezone.utc)
            payer = ledger.open_account(connection, kind=AccountKind.CARD_CLEARING, owner_ref="metrics-worker",
                                        currency="USD", now=now)
            payee = ledger.open_account(connection, kind=AccountKind.FX_LIQUIDITY, owner_ref="metrics-worker",
                                        currency="USD", now=now)
            ledger.create_transfer(connection, TransferRequest.pending(
                "metrics_worker_hold", debit=payer.id, credit=payee.id, amount=100, code="test", timeout_s=1), now=now)

        run_in_transaction(engine, hold_for_a_second)
        engine.dispose()
        port = free_port()
        env = {**os.environ, "AMANAH_ENV": "test", "AMANAH_DATABASE_URL": fresh_database_url,
               "AMANAH_DATA_DIR": str(tmp_path / "data"), "AMANAH_VAULT_KEY_FILE": str(vault_key_file)}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        with open(tmp_path / "worker.log", "w") as log:
            process = subprocess.Popen([sys.executable, "-m", "amanah", "worker", "--metrics-port", str(port)],
                                       env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        expired, deadline = 0.0, time.monotonic() + 60
        try:
            while expired < 1 and time.monotonic() < deadline:
                assert process.poll() is None, (tmp_path / "worker.log").read_text()[-3000:]
                try:
                    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
                except httpx.TransportError:
                    text = ""
                expired = sum(s.value for family in text_string_to_metric_families(text) for s in family.samples
                              if s.name == "amanah_ledger_transfers_committed_total"
                              and s.labels.get("kind") == "expire_pending")
                time.sleep(0.3)
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(20)
        assert expired == 1  # the hold the worker's ledger.expire_holds job expired
