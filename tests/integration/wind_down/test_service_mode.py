"""Switching the service mode: the admin API and the command, recorded with who and when."""

from __future__ import annotations

from typer.testing import CliRunner

from amanah.cli import app


class TestTheAdminApi:
    def test_the_mode_is_normal_until_an_operator_winds_the_service_down(self, market, wind_down):
        shown = market.client.get("/v1/admin/service-mode", headers=market.as_operator).json()
        assert shown["mode"] == "normal"
        changed = wind_down("the owners are closing the service")
        assert changed["mode"] == "wind_down"
        assert changed["changed_by"].startswith("operator:adk_") and "(test)" in changed["changed_by"]
        assert changed["reason"] == "the owners are closing the service"
        assert changed["changed_at"] is not None and changed["wind_down_since"] == changed["changed_at"]

    def test_setting_wind_down_again_continues_the_same_wind_down(self, market, wind_down):
        first = wind_down()
        second = wind_down("still closing")
        assert second["wind_down_since"] == first["wind_down_since"]

    def test_an_unknown_mode_is_a_400_and_a_user_or_platform_cannot_switch(self, market):
        bad = market.client.put("/v1/admin/service-mode", json={"mode": "closed"}, headers=market.as_operator)
        assert bad.status_code in (400, 422)
        as_platform = market.client.put("/v1/admin/service-mode", json={"mode": "wind_down"},
                                        headers=market.as_platform)
        assert as_platform.status_code == 401

    def test_the_public_status_shows_the_banner_only_while_winding_down(self, market, wind_down):
        assert market.client.get("/v1/service-status").json() == {"mode": "normal", "banner": None}
        wind_down()
        status = market.client.get("/v1/service-status", params={"locale": "ru-RU"}).json()
        banner = status["banner"]
        assert status["mode"] == "wind_down" and banner["locale"] == "ru"
        assert "закрывается" in banner["title"] and "Вывести" in banner["to_do"]
        assert set(banner["texts"]) == {"en", "ru", "id", "zh"}
        assert any("Withdrawing" in line for line in banner["texts"]["en"]["still_works"])


class TestTheCommand:
    def test_it_shows_and_sets_the_mode_recorded_as_cli(self, fresh_database_url):
        env = {"AMANAH_DATABASE_URL": fresh_database_url}
        shown = CliRunner().invoke(app, ["service-mode"], env=env)
        assert shown.exit_code == 0, shown.output
        assert "Service mode: normal" in shown.output
        changed = CliRunner().invoke(app, ["service-mode", "wind_down", "--reason", "closing"], env=env)
        assert changed.exit_code == 0, changed.output
        assert "Service mode: wind_down since" in changed.output and "by cli (closing)" in changed.output
        wrong = CliRunner().invoke(app, ["service-mode", "shut"], env=env)
        assert wrong.exit_code != 0
