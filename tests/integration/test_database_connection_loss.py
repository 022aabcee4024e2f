"""The database going away under a unit of work (a failover, a restart): work that cannot have
committed is run again on a new connection; a connection lost during COMMIT is never run again
(its outcome is unknown); a database that stays away is a 503 with ``Retry-After``, never a 500.

The connection is really lost: the server process serving it is terminated
(``pg_terminate_backend``), from inside the work or, for COMMIT, from a deferred trigger that
runs at commit time. ``tests/reliability/test_failover.py`` does the same to a whole primary."""

from __future__ import annotations

import socket

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from amanah.core import limits
from amanah.core.db import create_engine, is_database_unavailable, postgresql_url, run_in_transaction
from amanah.core.errors import CommitOutcomeUnknown, DatabaseUnavailable
from tests.conftest import _create_postgres_database, _drop_postgres_database


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens there once the probe is closed


@pytest.fixture
def scratch():
    """An engine on an empty PostgreSQL database of this test's own, with one table."""
    url = _create_postgres_database()
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE notes (id serial PRIMARY KEY, note text NOT NULL)"))
    try:
        yield engine
    finally:
        engine.dispose()
        _drop_postgres_database(url)


def _notes(engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.execute(sa.text("SELECT note FROM notes ORDER BY id")).scalars())


def _terminate_own_backend(connection) -> None:
    connection.execute(sa.text("SELECT pg_terminate_backend(pg_backend_pid())"))


@pytest.mark.postgres_only
class TestAConnectionLostBeforeCommit:
    def test_the_work_runs_again_on_a_new_connection_and_is_applied_once(self, scratch):
        attempts = []

        def work(connection):
            attempts.append(connection.execute(sa.text("SELECT pg_backend_pid()")).scalar())
            connection.execute(sa.text("INSERT INTO notes (note) VALUES ('paid')"))
            if len(attempts) == 1:
                _terminate_own_backend(connection)
            return "done"

        assert run_in_transaction(scratch, work) == "done"

        assert len(attempts) == 2 and attempts[0] != attempts[1], "not run again on another connection"
        assert _notes(scratch) == ["paid"]

    def test_a_group_commit_batch_runs_again_whole(self, scratch):
        attempts = []

        def work(connection):
            attempts.append(1)
            connection.execute(sa.text("INSERT INTO notes (note) VALUES ('grouped')"))
            if len(attempts) == 1:
                _terminate_own_backend(connection)
            return len(attempts)

        assert run_in_transaction(scratch, work, group=True) == 2
        assert _notes(scratch) == ["grouped"]

    def test_a_write_refused_by_a_standby_is_run_again_on_a_new_connection(self, scratch):
        # A pooled connection to a primary that was demoted answers writes with SQLSTATE 25006;
        # read-only by hand here, as a standby would be.
        attempts = []

        def work(connection):
            attempts.append(1)
            if len(attempts) == 1:
                connection.execute(sa.text("SET TRANSACTION READ ONLY"))
            connection.execute(sa.text("INSERT INTO notes (note) VALUES ('written')"))

        run_in_transaction(scratch, work)

        assert len(attempts) == 2
        assert _notes(scratch) == ["written"]


@pytest.mark.postgres_only
class TestAConnectionLostDuringCommit:
    @pytest.fixture
    def dying_commit(self, scratch):
        """A deferred constraint trigger that terminates its own backend when a note saying
        'die' is committed: the client has sent COMMIT and loses the connection."""
        with scratch.begin() as connection:
            connection.execute(sa.text("""
                CREATE FUNCTION die_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF NEW.note = 'die' THEN
                        PERFORM pg_terminate_backend(pg_backend_pid());
                        PERFORM pg_sleep(5);  -- the termination lands here, before the commit
                    END IF;
                    RETURN NULL;
                END $$"""))
            connection.execute(sa.text(
                "CREATE CONSTRAINT TRIGGER die_at_commit AFTER INSERT ON notes DEFERRABLE INITIALLY DEFERRED "
                "FOR EACH ROW EXECUTE FUNCTION die_at_commit()"))
        return scratch

    def test_the_work_is_not_run_again_and_the_caller_is_told_the_outcome_is_unknown(self, dying_commit):
        attempts = []

        def work(connection):
            attempts.append(1)
            connection.execute(sa.text("INSERT INTO notes (note) VALUES ('die')"))

        with pytest.raises(CommitOutcomeUnknown) as raised:
            run_in_transaction(dying_commit, work)

        assert attempts == [1]
        assert raised.value.http_status == 503 and raised.value.retry_after_s == limits.DB_RETRY_AFTER_S
        assert _notes(dying_commit) == []  # this time the server died before committing

    def test_the_engine_serves_the_next_unit_of_work(self, dying_commit):
        with pytest.raises(CommitOutcomeUnknown):
            run_in_transaction(dying_commit, lambda c: c.execute(sa.text("INSERT INTO notes (note) VALUES ('die')")))

        run_in_transaction(dying_commit, lambda c: c.execute(sa.text("INSERT INTO notes (note) VALUES ('next')")))

        assert _notes(dying_commit) == ["next"]


@pytest.mark.postgres_only
class TestARequestWhoseCommitWasCutOff:
    """Through the API: the answer says the outcome is unknown, and the Idempotency-Key stays in
    flight (as after a crash) so that a retry cannot run the work again at once."""

    @pytest.fixture
    def client(self, settings, fresh_database_url):
        from amanah.api.app import create_app

        engine = create_engine(fresh_database_url)
        with engine.begin() as connection:  # registering this e-mail address kills the commit
            connection.execute(sa.text("""
                CREATE FUNCTION die_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF NEW.email = 'cut.off@example.com' THEN
                        PERFORM pg_terminate_backend(pg_backend_pid());
                        PERFORM pg_sleep(5);
                    END IF;
                    RETURN NULL;
                END $$"""))
            connection.execute(sa.text(
                "CREATE CONSTRAINT TRIGGER die_at_commit AFTER INSERT ON users DEFERRABLE INITIALLY DEFERRED "
                "FOR EACH ROW EXECUTE FUNCTION die_at_commit()"))
        engine.dispose()
        app = create_app(settings.model_copy(update={"database_url": fresh_database_url}))
        with TestClient(app, raise_server_exceptions=False) as test_client:
            yield test_client

    def test_the_answer_is_a_503_and_a_retry_with_the_key_finds_it_in_flight(self, client):
        body = {"email": "cut.off@example.com", "password": "correct horse battery", "name": "Cut Off"}
        headers = {"Idempotency-Key": "cut-off-1"}

        first = client.post("/v1/users", json=body, headers=headers)
        retry = client.post("/v1/users", json=body, headers=headers)

        assert first.status_code == 503, first.text
        assert first.json()["error"]["code"] == "commit_outcome_unknown"
        assert first.headers["Retry-After"] == str(limits.DB_RETRY_AFTER_S)
        assert retry.status_code == 409 and retry.json()["error"]["code"] == "idempotency_key_in_use", retry.text

    def test_other_requests_are_served_meanwhile(self, client):
        client.post("/v1/users", json={"email": "cut.off@example.com", "password": "correct horse battery",
                                       "name": "Cut Off"}, headers={"Idempotency-Key": "cut-off-2"})

        answer = client.post("/v1/users", json={"email": "fine@example.com", "password": "correct horse battery",
                                                "name": "Fine"}, headers={"Idempotency-Key": "fine-1"})

        assert answer.status_code == 201, answer.text


class TestADatabaseThatStaysAway:
    """No PostgreSQL server listens on the URL's port: these run on the SQLite pass too."""

    @pytest.fixture
    def unreachable_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/amanah?connect_timeout=1"

    @pytest.fixture
    def short_wait(self, monkeypatch):
        monkeypatch.setattr(limits, "DB_RECONNECT_WAIT_S", 0.6)

    def test_the_work_never_runs_and_the_caller_is_told_to_retry(self, unreachable_url, short_wait):
        engine = create_engine(unreachable_url)
        ran = []
        try:
            with pytest.raises(DatabaseUnavailable) as raised:
                run_in_transaction(engine, lambda connection: ran.append(1))
        finally:
            engine.dispose()

        assert ran == []
        assert raised.value.code == "database_unavailable" and raised.value.http_status == 503
        assert is_database_unavailable(raised.value.__cause__)

    def test_the_api_answers_503_with_retry_after_never_500(self, settings, unreachable_url, short_wait):
        from amanah.api.app import create_app

        app = create_app(settings.model_copy(update={"database_url": unreachable_url}))
        with TestClient(app, raise_server_exceptions=False) as client:
            answers = {
                "POST with Idempotency-Key (the key's own table is away)": client.post(
                    "/v1/users", json={"email": "a@example.com", "password": "correct horse battery", "name": "A"},
                    headers={"Idempotency-Key": "k1"}),
                "POST without a key (the unit of work)": client.post(
                    "/v1/users", json={"email": "b@example.com", "password": "correct horse battery", "name": "B"}),
                "GET with a token (checking it reads the database)": client.get(
                    "/v1/me", headers={"Authorization": "Bearer ut_not_checked_yet"}),
            }

        for what, response in answers.items():
            assert response.status_code == 503, (what, response.status_code, response.text)
            assert response.json()["error"]["code"] == "database_unavailable", what
            assert response.headers["Retry-After"] == str(limits.DB_RETRY_AFTER_S), what


def test_only_postgresql_errors_count_as_the_database_being_away(tmp_path):
    """SQLite's errors are bugs or contention, never a failover."""
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with pytest.raises(sa.exc.OperationalError) as raised:
            with engine.connect() as connection:
                connection.execute(sa.text("SELECT * FROM no_such_table"))
    finally:
        engine.dispose()
    assert not is_database_unavailable(raised.value)


@pytest.mark.postgres_only
def test_the_url_may_set_the_libpq_options_the_engine_defaults(database_url):
    url = make_url(database_url).update_query_dict({"connect_timeout": "3"})
    engine = create_engine(url.render_as_string(hide_password=False))
    try:
        with engine.connect() as connection:
            parameters = connection.connection.dbapi_connection.info.get_parameters()
    finally:
        engine.dispose()
    assert parameters["connect_timeout"] == "3"  # the URL's, not the default
    assert parameters["keepalives_idle"] == str(limits.DB_KEEPALIVE_IDLE_S)


class TestTheUrlsPgAutoctlPrints:
    """``pg_autoctl show uri --formation default`` prints libpq's multi-host URI."""

    def test_several_hosts_become_repeated_host_parameters_for_psycopg(self):
        url = postgresql_url("postgres://amanah:s%40cret@db1:5432,db2:5433/amanah?target_session_attrs=read-write"
                             "&sslmode=require")

        parsed = make_url(url)
        assert parsed.drivername == "postgresql+psycopg"
        assert (parsed.username, parsed.password, parsed.host, parsed.database) == ("amanah", "s@cret", None, "amanah")
        assert parsed.query["host"] == ("db1:5432", "db2:5433")
        assert parsed.query["target_session_attrs"] == "read-write" and parsed.query["sslmode"] == "require"

    def test_a_single_host_url_only_gets_the_driver(self):
        assert postgresql_url("postgresql://u@db1:5432/amanah") == "postgresql+psycopg://u@db1:5432/amanah"

    def test_other_urls_are_left_alone(self):
        for url in ("sqlite:////var/lib/amanah,old/amanah.db", "postgresql+psycopg://u@/a?host=x:1&host=y:2"):
            assert postgresql_url(url) == url
