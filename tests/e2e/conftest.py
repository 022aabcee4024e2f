"""A real ``amanah serve`` process on a free localhost port, talked to over real HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

SERVER_START_TIMEOUT_S = 30


@dataclass
class LiveServer:
    url: str
    env: dict[str, str]
    process: subprocess.Popen

    def amanah(self, *args: str) -> subprocess.CompletedProcess:
        """Runs the ``amanah`` command against the same database as the server."""
        return subprocess.run([sys.executable, "-m", "amanah", *args], env=self.env, capture_output=True,
                              text=True, timeout=60)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_server(database_url: str, folder: Path, vault_key_file: Path, *, start_timeout_s: float = SERVER_START_TIMEOUT_S,
                   **extra_env: str) -> Iterator[LiveServer]:
    """``amanah serve`` in test mode on a free port with its own data directory, until the block ends."""
    port = free_port()
    env = {
        **os.environ,
        "AMANAH_ENV": "test",
        "AMANAH_DATABASE_URL": database_url,
        "AMANAH_DATA_DIR": str(folder / "data"),
        "AMANAH_VAULT_KEY_FILE": str(vault_key_file),
        "AMANAH_BASE_URL": f"http://127.0.0.1:{port}",
        **extra_env,
    }
    log_path = folder / "server.log"
    log = open(log_path, "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "amanah", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    server = LiveServer(f"http://127.0.0.1:{port}", env, process)
    try:
        wait_until_healthy(server.url, server.process, log_path, start_timeout_s)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture
def live_server(database_url: str, tmp_path: Path, vault_key_file: Path) -> Iterator[LiveServer]:
    with running_server(database_url, tmp_path, vault_key_file) as server:
        yield server


def wait_until_healthy(url: str, process, log_path: Path, timeout_s: float, what: str = "amanah serve") -> None:
    """Until ``url``/healthz answers 200; the end of the log if the process exits or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited:\n{log_path.read_text()[-4000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not become healthy:\n{log_path.read_text()[-4000:]}")
