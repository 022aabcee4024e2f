"""Real processes for the reliability tests: ``amanah serve`` and ``amanah worker`` started as
subprocesses in sessions of their own (so a whole server can be SIGKILLed with its uvicorn
workers), found again through /proc, and an HTTP client that retries with the same
``Idempotency-Key`` and records what each request's outcome was, Jepsen style."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.e2e.conftest import wait_until_healthy


START_TIMEOUT_S = 40.0


def base_env(database_url: str, data_dir: Path, vault_key_file: Path, port: int | None = None) -> dict[str, str]:
    env = {
        **os.environ,
        "AMANAH_ENV": "test",
        "AMANAH_DATABASE_URL": database_url,
        "AMANAH_DATA_DIR": str(data_dir),
        "AMANAH_VAULT_KEY_FILE": str(vault_key_file),
        "AMANAH_PASSWORD_HASHING": "test",
        "AMANAH_CAPTCHA": "test",
        "AMANAH_WEBHOOK_ALLOW_PRIVATE": "true",
    }
    if port is not None:
        env["AMANAH_BASE_URL"] = f"http://127.0.0.1:{port}"
    return env


def amanah(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "amanah", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def children_of(pid: int) -> list[int]:
    """Direct children, from /proc (no psutil needed)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # the command name (2nd field) is in parentheses and may hold spaces: split after it
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


@dataclass
class Process:
    """One ``amanah`` sub-command, restartable, in its own session."""

    args: list[str]
    env: dict[str, str]
    log_path: Path
    url: str | None = None
    process: subprocess.Popen | None = None
    starts: int = 0

    def start(self, wait: bool = True) -> None:
        log = open(self.log_path, "a")
        log.write(f"\n===== start {self.starts + 1} =====\n")
        log.flush()
        self.process = subprocess.Popen([sys.executable, "-m", "amanah", *self.args], env=self.env, stdout=log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.starts += 1
        if wait and self.url:
            self.wait_healthy()

    def wait_healthy(self, timeout_s: float = START_TIMEOUT_S) -> None:
        wait_until_healthy(self.url, self.process, self.log_path, timeout_s, f"amanah {self.args[0]}")

    def uvicorn_workers(self) -> list[int]:
        """The worker processes uvicorn spawned (not multiprocessing's resource tracker)."""
        if self.process is None or self.process.poll() is not None:
            return []
        return [pid for pid in children_of(self.process.pid)
                if "spawn_main" in cmdline(pid) and "resource_tracker" not in cmdline(pid)]

    def kill_all(self) -> None:
        """SIGKILL to the whole session: the supervisor and every worker at once."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            self.kill_all()
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
        self.kill_all()


def server(tmp_path: Path, name: str, env: dict[str, str], port: int, *extra: str) -> Process:
    return Process(["serve", "--host", "127.0.0.1", "--port", str(port), *extra], env, tmp_path / f"{name}.log",
                   url=f"http://127.0.0.1:{port}")


# --- a client that retries, and what each request came to ------------------------------------

OK, REFUSED, UNKNOWN = "ok", "refused", "unknown"


@dataclass
class Op:
    """One logical request: sent once or more, always with the same key and body."""

    name: str
    kind: str
    path: str
    body: dict
    token: str
    key: str
    outcome: str | None = None
    status: int | None = None
    answer: dict | None = None
    attempts: int = 0
    ambiguous_attempts: int = 0  # connection errors and 5xx: the work may or may not have run
    meta: dict = field(default_factory=dict)


@dataclass
class Counters:
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: int = 0
    retries: int = 0
    transport_errors: int = 0
    server_errors: int = 0
    in_flight_409: int = 0
    replayed: int = 0

    def add(self, **deltas: int) -> None:
        with self.lock:
            for name, delta in deltas.items():
                setattr(self, name, getattr(self, name) + delta)


RETRYABLE_CODES = {"idempotency_key_in_use"}


def send(http: httpx.Client, base_url: callable, op: Op, counters: Counters, *, attempts_max: int,
         deadline: float, in_flight_patience_s: float = 3.0) -> Op:
    """Sends until a definite answer, ``attempts_max`` tries or ``deadline``. Retries on
    connection errors, 5xx and 409 "key in flight", with the same key and body. Only this
    client uses the key, one attempt at a time, so a 409 that lasts means the first attempt's
    process died holding the key: after ``in_flight_patience_s`` of them the outcome is unknown
    (the key stays in flight for the whole lease).

    Outcome: ``ok`` (2xx), ``refused`` (a 4xx before which no attempt was ambiguous), else
    ``unknown`` (may have been applied once, never twice)."""
    headers = {"Authorization": f"Bearer {op.token}", "Idempotency-Key": op.key}
    pause_s = 0.05
    first_in_flight = None
    while op.attempts < attempts_max and time.monotonic() < deadline:
        if op.attempts:
            counters.add(retries=1)
            time.sleep(pause_s)
            pause_s = min(pause_s * 2, 0.5)
        op.attempts += 1
        counters.add(requests=1)
        try:
            response = http.post(f"{base_url()}{op.path}", json=op.body, headers=headers, timeout=15)
        except httpx.TransportError:
            op.ambiguous_attempts += 1
            counters.add(transport_errors=1)
            continue
        if response.headers.get("idempotent-replayed") == "true":
            counters.add(replayed=1)
        if response.status_code >= 500:
            op.ambiguous_attempts += 1
            counters.add(server_errors=1)
            continue
        try:
            payload = response.json()
        except ValueError:
            payload = {"raw": response.text[:200]}
        code = (payload.get("error") or {}).get("code") if isinstance(payload, dict) else None
        if response.status_code == 409 and code in RETRYABLE_CODES:
            counters.add(in_flight_409=1)
            first_in_flight = first_in_flight or time.monotonic()
            if time.monotonic() - first_in_flight > in_flight_patience_s:
                break
            continue
        op.status, op.answer = response.status_code, payload
        if response.status_code < 300:
            op.outcome = OK
        elif op.ambiguous_attempts == 0:
            op.outcome = REFUSED
        else:
            op.outcome = UNKNOWN
        return op
    op.outcome = UNKNOWN
    return op
