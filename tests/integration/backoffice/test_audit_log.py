"""The audit log cannot be edited — the database itself refuses UPDATE, DELETE (and TRUNCATE
on PostgreSQL) — and the admin API's state-changing calls are in it too, served back by
``GET /v1/admin/audit-log``."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from amanah.core.clock import clock
from amanah.core.db import run_in_transaction
from amanah.operators import service as operators
from amanah.operators.models import operator_audit_log
from tests.conftest import ON_POSTGRES
from tests.integration.backoffice.conftest import CLI, audit_rows


@pytest.fixture
def entry_id(engine) -> str:
    return run_in_transaction(engine, lambda c: operators.record_audit(
        c, CLI, action="test.immutability", target_type="test", target_id="t1", before={"a": 1}, after={"a": 2},
        now=clock.now()))


@pytest.fixture
def operator_key(engine) -> str:
    _key, secret = run_in_transaction(engine, lambda c: operators.create_key(c, label="audit test", now=clock.now()))
    return secret


class TestTheDatabaseRefusesEdits:
    def test_an_update_is_refused(self, engine, entry_id):
        with pytest.raises(sa.exc.DatabaseError, match="immutable"):
            with engine.begin() as connection:
                connection.execute(operator_audit_log.update().where(operator_audit_log.c.id == entry_id)
                                   .values(action="test.rewritten"))
        assert audit_rows(engine, id=entry_id)[0].action == "test.immutability"

    def test_a_delete_is_refused(self, engine, entry_id):
        with pytest.raises(sa.exc.DatabaseError, match="immutable"):
            with engine.begin() as connection:
                connection.execute(operator_audit_log.delete().where(operator_audit_log.c.id == entry_id))
        assert len(audit_rows(engine, id=entry_id)) == 1

    def test_a_raw_sql_update_of_the_json_is_refused_too(self, engine, entry_id):
        with pytest.raises(sa.exc.DatabaseError, match="immutable"):
            with engine.begin() as connection:
                connection.execute(sa.text("UPDATE operator_audit_log SET actor_label = 'someone else'"))
        assert audit_rows(engine, id=entry_id)[0].actor_label == CLI.actor.label

    @pytest.mark.postgres_only
    def test_a_truncate_is_refused_on_postgresql(self, engine, entry_id):
        assert ON_POSTGRES
        with pytest.raises(sa.exc.DatabaseError, match="immutable"):
            with engine.begin() as connection:
                connection.execute(sa.text("TRUNCATE operator_audit_log"))
        assert len(audit_rows(engine, id=entry_id)) == 1


class TestTheAdminApi:
    def test_putting_the_service_mode_is_audited_against_the_key(self, client, engine, operator_key):
        headers = {"Authorization": f"Bearer {operator_key}", "X-Request-ID": "req-audit-test-0001"}
        response = client.put("/v1/admin/service-mode", json={"mode": "wind_down", "reason": "api test"},
                              headers=headers)
        assert response.status_code == 200, response.text
        row = audit_rows(engine, action="service_mode.set", request_id="req-audit-test-0001")[-1]
        assert row.actor_type == "api_key" and row.actor_label == "audit test" and row.actor_id.startswith("adk_")
        assert row.before["mode"] == "normal" and row.after["mode"] == "wind_down" and row.after["reason"] == "api test"
        assert row.client_address

    def test_a_refused_change_leaves_no_row(self, client, engine, operator_key):
        before = len(audit_rows(engine, action="service_mode.set"))
        response = client.put("/v1/admin/service-mode", json={"mode": "closed"},
                              headers={"Authorization": f"Bearer {operator_key}"})
        assert response.status_code == 422 or response.status_code == 400
        assert len(audit_rows(engine, action="service_mode.set")) == before

    def test_the_log_is_served_newest_first_with_filters_and_pages(self, client, engine, operator_key):
        headers = {"Authorization": f"Bearer {operator_key}"}
        for mode in ("wind_down", "normal", "wind_down"):
            assert client.put("/v1/admin/service-mode", json={"mode": mode, "reason": "paging"},
                              headers=headers).status_code == 200
        key_id = audit_rows(engine, action="service_mode.set")[-1].actor_id
        first = client.get("/v1/admin/audit-log", params={"operator": key_id, "limit": 2}, headers=headers).json()
        assert [e["after"]["mode"] for e in first["data"]] == ["wind_down", "normal"] and first["has_more"]
        assert first["data"][0]["action"] == "service_mode.set" and first["data"][0]["actor_type"] == "api_key"
        rest = client.get("/v1/admin/audit-log", params={"operator": key_id, "limit": 2,
                                                         "starting_after": first["data"][-1]["id"]},
                          headers=headers).json()
        assert [e["after"]["mode"] for e in rest["data"]] == ["wind_down"] and not rest["has_more"]
        only = client.get("/v1/admin/audit-log", params={"action": "no.such.action"}, headers=headers).json()
        assert only == {"data": [], "has_more": False}

    def test_a_bad_cursor_or_limit_is_a_400(self, client, operator_key):
        headers = {"Authorization": f"Bearer {operator_key}"}
        assert client.get("/v1/admin/audit-log", params={"starting_after": "aud_nope"},
                          headers=headers).status_code == 400
        assert client.get("/v1/admin/audit-log", params={"limit": 0}, headers=headers).status_code in (400, 422)

    def test_only_operators_may_read_it(self, client):
        assert client.get("/v1/admin/audit-log").status_code == 401


class TestTheCommandLine:
    def test_operator_commands_and_the_service_mode_command_are_audited_without_secrets(self, fresh_database_url):
        from typer.testing import CliRunner

        from amanah.cli import app
        from amanah.core.db import create_engine

        def run(*args):
            return CliRunner().invoke(app, list(args), env={"AMANAH_DATABASE_URL": fresh_database_url,
                                                            "AMANAH_ENV": "test", "AMANAH_PASSWORD_HASHING": "test"})

        made = run("operators", "create", "Ops.Person@Example.com")
        assert made.exit_code == 0, made.output
        assert "otpauth://totp/" in made.output and "one-time password:" in made.output
        password = made.output.split("one-time password:")[1].split()[0]
        secret = made.output.split("TOTP secret:")[1].split()[0]
        assert "ops.person@example.com" in run("operators", "list").output
        assert run("operators", "create", "ops.person@example.com").exit_code == 1  # exists already
        assert run("operators", "disable", "ops.person@example.com").exit_code == 0
        assert "disabled" in run("operators", "list").output
        assert run("service-mode", "wind_down", "--reason", "from the shell").exit_code == 0
        engine = create_engine(fresh_database_url)
        rows = audit_rows(engine)
        engine.dispose()
        assert [r.action for r in rows] == ["operator.create", "operator.disable", "service_mode.set"]
        assert all(r.actor_type == "cli" for r in rows)
        text = repr([(r.before, r.after) for r in rows])
        assert password not in text and secret not in text
