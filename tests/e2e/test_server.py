"""The server as a user meets it: a real process, real HTTP."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest


class TestServing:
    def test_the_server_migrates_starts_and_reports_healthy_and_ready(self, live_server):
        assert httpx.get(f"{live_server.url}/healthz").json()["status"] == "ok"
        ready = httpx.get(f"{live_server.url}/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["status"] == "ok"

    def test_the_openapi_document_describes_the_api(self, live_server):
        document = httpx.get(f"{live_server.url}/openapi.json").json()
        assert document["info"]["title"] == "Amanah"
        assert "/v1/admin/ledger/verify" in document["paths"]

    @pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads the process's map from /proc")
    def test_the_server_parses_http_and_runs_its_loop_in_c(self, live_server):
        # httptools and uvloop, not h11 and asyncio's pure-Python loop: a fourth of the
        # framework's floor endpoint's throughput (benchmarks/README.md, session 8). uvicorn falls
        # back to the slow pair without a word when the fast one is missing from the install.
        httpx.get(f"{live_server.url}/healthz").raise_for_status()
        mapped = Path(f"/proc/{live_server.process.pid}/maps").read_text()
        assert "/httptools/parser/" in mapped
        assert "/uvloop/loop." in mapped

    def test_an_unknown_path_is_a_404_in_the_api_error_shape(self, live_server):
        response = httpx.get(f"{live_server.url}/v1/nothing-here")
        assert response.status_code == 404
        assert response.json()["error"]["type"] == "not_found"


class TestOperatorKeyFromTheCommandLine:
    def test_a_key_printed_by_admin_keys_create_opens_the_admin_api(self, live_server):
        created = live_server.amanah("admin-keys", "create", "--label", "e2e")
        assert created.returncode == 0, created.stderr
        key = created.stdout.strip()
        assert key.startswith("ak_")
        response = httpx.get(f"{live_server.url}/v1/admin/ledger/verify", headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 200
        assert response.json()["ok"] is True
