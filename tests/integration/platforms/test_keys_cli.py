"""``amanah platforms keys create|list|revoke``, ``amanah platforms disable|enable`` and
``amanah platforms fee-limit``, run as an operator would on the server; each is audited as done
from the command line."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from amanah.cli import app
from amanah.core.clock import clock
from amanah.core.db import create_engine, run_in_transaction
from amanah.core.errors import AuthenticationFailed
from amanah.operators.models import operator_audit_log
from amanah.platforms import service as platforms


def run(url: str, *args: str):
    return CliRunner().invoke(app, list(args), env={"AMANAH_DATABASE_URL": url})


@pytest.fixture
def shop(fresh_database_url):
    """(database URL, engine, platform id, its first key) made by ``amanah platforms create``."""
    made = run(fresh_database_url, "platforms", "create", "Command Line Bazaar")
    assert made.exit_code == 0, made.output
    key = made.stdout.strip()
    platform_id = re.search(r"plt_\w+", made.stderr).group(0)
    engine = create_engine(fresh_database_url)
    yield fresh_database_url, engine, platform_id, key
    engine.dispose()


def works(engine, key: str) -> bool:
    try:
        run_in_transaction(engine, lambda c: platforms.authenticate(c, key, now=clock.now()))
    except AuthenticationFailed:
        return False
    return True


def actions_logged(engine, platform_id: str) -> list[tuple[str, str]]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(
            sa.select(operator_audit_log.c.action, operator_audit_log.c.actor_type)
            .where(operator_audit_log.c.target_id == platform_id).order_by(operator_audit_log.c.seq))]


class TestKeysCommands:
    def test_create_prints_a_new_key_once_and_the_old_one_keeps_its_grace(self, shop):
        url, engine, platform_id, old = shop
        made = run(url, "platforms", "keys", "create", platform_id)
        assert made.exit_code == 0, made.output
        new = made.stdout.strip()
        assert new.startswith("sk_") and new != old and "\n" not in new
        assert "24 h" in made.stderr or "86400" in made.stderr
        assert works(engine, new) and works(engine, old)

    def test_create_with_no_grace_ends_the_old_key_at_once(self, shop):
        url, engine, platform_id, old = shop
        made = run(url, "platforms", "keys", "create", platform_id, "--grace-s", "0")
        assert made.exit_code == 0, made.output
        assert works(engine, made.stdout.strip()) and not works(engine, old)

    def test_list_shows_ids_and_states_but_never_a_secret(self, shop):
        url, engine, platform_id, old = shop
        new = run(url, "platforms", "keys", "create", platform_id).stdout.strip()
        listed = run(url, "platforms", "keys", "list", platform_id)
        assert listed.exit_code == 0, listed.output
        assert listed.output.count("pk_") == 2 and "expiring" in listed.output and "active" in listed.output
        assert old not in listed.output and new not in listed.output
        assert new[-4:] in listed.output  # the hint to tell keys apart

    def test_revoke_ends_the_key_at_once(self, shop):
        url, engine, platform_id, old = shop
        key_id = re.search(r"pk_\w+", run(url, "platforms", "keys", "list", platform_id).output).group(0)
        revoked = run(url, "platforms", "keys", "revoke", platform_id, key_id)
        assert revoked.exit_code == 0, revoked.output
        assert not works(engine, old)
        assert actions_logged(engine, platform_id) == [("platform.key.revoke", "cli")]

    def test_an_unknown_key_or_platform_is_an_error_with_exit_status_1(self, shop):
        url, _engine, platform_id, _old = shop
        result = run(url, "platforms", "keys", "revoke", platform_id, "pk_" + "0" * 26)
        assert result.exit_code == 1 and "No key" in result.output
        result = run(url, "platforms", "keys", "create", "plt_nothing")
        assert result.exit_code == 1 and "No platform" in result.output

    def test_a_bad_grace_period_is_refused(self, shop):
        url, engine, platform_id, old = shop
        result = run(url, "platforms", "keys", "create", platform_id, "--grace-s", "-5")
        assert result.exit_code == 2 and "--grace-s" in result.output
        assert works(engine, old) and run(url, "platforms", "keys", "list", platform_id).output.count("pk_") == 1


class TestDisableAndEnable:
    def test_disable_refuses_every_key_and_enable_lets_them_back(self, shop):
        url, engine, platform_id, old = shop
        assert run(url, "platforms", "disable", platform_id).exit_code == 0
        assert not works(engine, old)
        assert run(url, "platforms", "enable", platform_id).exit_code == 0
        assert works(engine, old)
        assert actions_logged(engine, platform_id) == [("platform.disable", "cli"), ("platform.enable", "cli")]


class TestFeeLimit:
    def test_the_limit_is_set_and_audited(self, shop):
        url, engine, platform_id, _old = shop
        result = run(url, "platforms", "fee-limit", platform_id, "1500")
        assert result.exit_code == 0, result.output
        assert "15%" in result.output
        assert run_in_transaction(engine, lambda c: platforms.fee_limit_bps(c, platform_id)) == 1500
        assert actions_logged(engine, platform_id) == [("platform.fee_limit.set", "cli")]

    def test_a_limit_above_100_percent_is_refused(self, shop):
        url, engine, platform_id, _old = shop
        result = run(url, "platforms", "fee-limit", platform_id, "10001")
        assert result.exit_code == 1 and "10000" in result.output
        assert run_in_transaction(engine, lambda c: platforms.fee_limit_bps(c, platform_id)) == 3000
