"""``amanah rates``, run as an operator would, on a database of its own."""

from __future__ import annotations


from typer.testing import CliRunner

from amanah.cli import app
from amanah.core.clock import clock
from amanah.core.db import create_engine
from amanah.operators import service as operators

from ...unit.fx.ecb_fixtures import ECB_DAILY


def run(url: str, *args: str):
    return CliRunner().invoke(app, list(args), env={"AMANAH_DATABASE_URL": url})


def audited(url: str) -> list:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return operators.audit_entries(connection)[0]
    finally:
        engine.dispose()


class TestImportingARatesFile:
    def test_an_ecb_file_is_imported_and_the_skipped_currencies_named(self, fresh_database_url, tmp_path):
        path = tmp_path / "eurofxref-daily.xml"
        path.write_bytes(ECB_DAILY)
        result = run(fresh_database_url, "rates", "import", str(path))
        assert result.exit_code == 0, result.output
        assert "Imported 10 rates (ecb) for 2024-01-05 to 2024-01-05." in result.output
        assert "Skipped currencies we do not hold: BGN, CZK, ZAR." in result.output
        [entry] = audited(fresh_database_url)
        assert entry.action == "fx.rates.import" and entry.actor_type == "cli"
        assert entry.after["file_name"] == "eurofxref-daily.xml" and entry.after["stored"] == 10
        shown = run(fresh_database_url, "rates", "show", "--base", "EUR", "--date", "2024-01-05")
        assert "USD" in shown.output and "1.0921" in shown.output and "2024-01-05" in shown.output

    def test_a_bad_file_is_refused_with_the_line_and_exit_status_1(self, fresh_database_url, tmp_path):
        path = tmp_path / "rates.csv"
        path.write_text("date,base,quote,rate\n2024-01-05,USD,RUB,ninety\n")
        result = run(fresh_database_url, "rates", "import", str(path))
        assert result.exit_code == 1
        assert "Line 2: 'ninety' is not a rate" in result.output

    def test_a_missing_file_is_refused(self, fresh_database_url, tmp_path):
        assert run(fresh_database_url, "rates", "import", str(tmp_path / "nope.xml")).exit_code == 2


class TestSettingARateByHand:
    def test_the_rate_is_confirmed_and_shown_as_manual(self, fresh_database_url):
        result = run(fresh_database_url, "rates", "set", "EUR", "RUB", "101.25")
        assert result.exit_code == 0, result.output
        assert f"1 EUR = 101.25 RUB on {clock.now().date()} (manual)." in result.output
        [entry] = audited(fresh_database_url)
        assert entry.action == "fx.rate.set" and entry.before is None and entry.after["rate"] == "101.25"
        shown = run(fresh_database_url, "rates", "show", "--base", "EUR")
        assert "RUB" in shown.output and "101.25" in shown.output and "manual" in shown.output

    def test_a_past_date_can_be_given(self, fresh_database_url):
        result = run(fresh_database_url, "rates", "set", "USD", "KZT", "470", "--date", "2024-01-05")
        assert result.exit_code == 0 and "on 2024-01-05" in result.output
        shown = run(fresh_database_url, "rates", "show", "--date", "2024-01-05")
        assert "KZT" in shown.output and "470" in shown.output

    def test_a_stale_rate_is_flagged(self, fresh_database_url):
        run(fresh_database_url, "rates", "set", "USD", "UAH", "41", "--date", "2024-01-05")
        assert "STALE" in run(fresh_database_url, "rates", "show").output

    def test_nonsense_is_refused_with_exit_status_1(self, fresh_database_url):
        result = run(fresh_database_url, "rates", "set", "EUR", "XYZ", "1")
        assert result.exit_code == 1 and "not a supported currency" in result.output
        assert audited(fresh_database_url) == []  # refused: nothing done, nothing recorded


class TestLoadingTheSample:
    def test_every_currency_gets_a_sample_rate_for_today(self, fresh_database_url):
        result = run(fresh_database_url, "rates", "load-sample")
        assert result.exit_code == 0 and "SAMPLE" in result.output
        shown = run(fresh_database_url, "rates", "show", "--base", "USD").output
        assert shown.count("sample") == 13 and str(clock.now().date()) in shown
