"""A key revoked from the command line (another process) is refused by the running server at its
next request: no cache anywhere lets it through."""

from __future__ import annotations

import re

import httpx


def trades_with(server, key: str) -> int:
    return httpx.get(f"{server.url}/v1/trades", headers={"Authorization": f"Bearer {key}"}).status_code


def test_a_key_revoked_by_the_command_line_is_refused_by_the_server_at_once(live_server):
    created = live_server.amanah("platforms", "create", "Second Process Bazaar")
    assert created.returncode == 0, created.stderr
    key, platform_id = created.stdout.strip(), re.search(r"plt_\w+", created.stderr).group(0)
    assert trades_with(live_server, key) == 200
    rotated = live_server.amanah("platforms", "keys", "create", platform_id, "--grace-s", "3600")
    new_key = rotated.stdout.strip()
    assert trades_with(live_server, key) == 200 and trades_with(live_server, new_key) == 200
    listed = live_server.amanah("platforms", "keys", "list", platform_id).stdout
    old_id = next(line.split()[0] for line in listed.splitlines() if "expiring" in line)
    assert live_server.amanah("platforms", "keys", "revoke", platform_id, old_id).returncode == 0
    assert trades_with(live_server, key) == 401
    assert trades_with(live_server, new_key) == 200
    assert live_server.amanah("platforms", "disable", platform_id).returncode == 0
    assert trades_with(live_server, new_key) == 401
    assert live_server.amanah("platforms", "enable", platform_id).returncode == 0
    assert trades_with(live_server, new_key) == 200
