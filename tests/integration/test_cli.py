"""The ``amanah`` command, run as an operator would (in-process, on a database of its own)."""

from __future__ import annotations

import sqlalchemy as sa
from typer.testing import CliRunner

from amanah import ledger
from amanah.cli import app
from amanah.core.db import create_engine, run_in_transaction
from amanah.ledger import AccountKind, TransferRequest as T


def run(url: str, *args: str):
    return CliRunner().invoke(app, list(args), env={"AMANAH_DATABASE_URL": url})


def fill_books(url: str, now) -> int:
    engine = create_engine(url)

    def work(connection):
        clearing = ledger.open_account(connection, kind=AccountKind.CARD_CLEARING, owner_ref="system", currency="EUR", now=now)
        wallet = ledger.open_account(connection, kind=AccountKind.USER_WALLET, owner_ref="usr_cli", currency="EUR", now=now)
        escrow = ledger.open_account(connection, kind=AccountKind.ESCROW, owner_ref="system", currency="EUR", now=now)
        ledger.create_transfer(connection, T.direct("cli_topup", debit=clearing.id, credit=wallet.id, amount=5000, code="topup"), now=now)
        ledger.create_transfer(connection, T.pending("cli_hold", debit=wallet.id, credit=escrow.id, amount=1200, code="trade_hold"), now=now)
        return wallet.id

    wallet_id = run_in_transaction(engine, work)
    engine.dispose()
    return wallet_id


class TestLedgerVerifyCommand:
    def test_balanced_books_pass_with_exit_status_0(self, fresh_database_url, now):
        fill_books(fresh_database_url, now)
        result = run(fresh_database_url, "ledger", "verify")
        assert result.exit_code == 0, result.output
        assert "Checked 2 transfers on 3 accounts" in result.output
        assert "EUR" in result.output and "OK" in result.output

    def test_a_balance_changed_behind_the_ledgers_back_fails_with_exit_status_1(self, fresh_database_url, now):
        wallet_id = fill_books(fresh_database_url, now)
        engine = create_engine(fresh_database_url)
        with engine.begin() as connection:  # within the CHECK constraints, but not in the journal
            connection.execute(sa.text("UPDATE ledger_accounts SET credits_posted = credits_posted + 100 WHERE id = :id"),
                               {"id": wallet_id})
        engine.dispose()
        result = run(fresh_database_url, "ledger", "verify")
        assert result.exit_code == 1
        assert "VIOLATIONS" in result.output
        assert f"account {wallet_id}" in result.output
        assert "EUR: total debits and credits differ" in result.output

    def test_the_report_is_available_as_json(self, fresh_database_url, now):
        import json

        fill_books(fresh_database_url, now)
        result = run(fresh_database_url, "ledger", "verify", "--json")
        report = json.loads(result.output)
        assert report["ok"] is True
        assert report["currencies"]["EUR"] == {"debits": 5000, "credits": 5000, "debits_pending": 1200, "credits_pending": 1200}


class TestMigrateCommand:
    def test_migrating_twice_is_harmless(self, fresh_database_url):
        assert run(fresh_database_url, "migrate").exit_code == 0
        assert run(fresh_database_url, "migrate").exit_code == 0


class TestHelp:
    def test_help_lists_the_commands(self):
        result = CliRunner().invoke(app, ["--help"])
        assert result.exit_code == 0
        for command in ("serve", "demo", "migrate", "ledger", "admin-keys"):
            assert command in result.output


def test_the_demo_names_the_database_it_serves_on(fresh_database_url, tmp_path, monkeypatch):
    import amanah.cli

    monkeypatch.setattr(amanah.cli, "serve", lambda **_options: None)  # print the banner, serve nothing
    result = CliRunner().invoke(app, ["demo", "--shop-port", "0"], env={
        "AMANAH_DATABASE_URL": fresh_database_url, "AMANAH_DATA_DIR": str(tmp_path), "AMANAH_ENV": "development",
        "AMANAH_JOBS": None})  # the suite's manual jobs are for test mode only

    assert result.exit_code == 0, result.output
    expected = "embedded SQLite database" if fresh_database_url.startswith("sqlite") else "PostgreSQL"
    assert result.output.startswith(f"Amanah demo — {expected}"), result.output
