"""Test databases: SQLite by default, PostgreSQL when ``AMANAH_TEST_DATABASE_URL`` names one.

On PostgreSQL every run (and every ``fresh_database_url``) gets a database of its own, created
on the server the URL names and dropped afterwards, so runs never see each other's rows."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from datetime import datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from amanah.core import migrate
from amanah.core.db import create_engine

# Our suite runs the jobs itself (the test clock, ``jobs.run_all``) so that every test sees each
# effect at a moment it chose; servers it starts in subprocesses inherit this. A server for
# marketplace engineers in test mode runs them on its own (AMANAH_JOBS=auto, the default), and the
# tests of that behaviour say so themselves.
os.environ.setdefault("AMANAH_JOBS", "manual")

TEST_DATABASE_URL = os.environ.get("AMANAH_TEST_DATABASE_URL", "")
ON_POSTGRES = make_url(TEST_DATABASE_URL).get_backend_name() == "postgresql" if TEST_DATABASE_URL else False


def pytest_report_header(config) -> str:
    return f"amanah test database: {'PostgreSQL' if ON_POSTGRES else 'SQLite'}"


def pytest_collection_modifyitems(config, items) -> None:
    if ON_POSTGRES:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set AMANAH_TEST_DATABASE_URL); runs in the PostgreSQL pass")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)


def _create_postgres_database() -> str:
    server = make_url(TEST_DATABASE_URL)
    name = f"amanah_test_{secrets.token_hex(4)}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server.set(database=name).render_as_string(hide_password=False)


def _drop_postgres_database(url: str) -> None:
    server = make_url(TEST_DATABASE_URL)
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def _new_database_url(tmp_path_factory) -> str:
    if ON_POSTGRES:
        return _create_postgres_database()
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'amanah.db'}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> Iterator[str]:
    url = _new_database_url(tmp_path_factory)
    yield url
    if ON_POSTGRES:
        _drop_postgres_database(url)


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_engine(database_url)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def fresh_database_url(tmp_path_factory) -> Iterator[str]:
    """An empty, migrated database of this test's own (for tests that break the books)."""
    url = _new_database_url(tmp_path_factory)
    engine = create_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    yield url
    if ON_POSTGRES:
        _drop_postgres_database(url)


@pytest.fixture
def now() -> datetime:
    """The server clock's now (test mode may have moved it forward)."""
    from amanah.core.clock import clock

    return clock.now()


@pytest.fixture(scope="session")
def vault_key_file(tmp_path_factory):
    """One vault key for the session's database, as one installation has one: every card in the
    database must stay readable (and re-wrappable) by whichever test rotates the key."""
    return tmp_path_factory.mktemp("vault") / "vault.key"


@pytest.fixture
def settings(database_url: str, tmp_path, vault_key_file):
    """Test-mode settings on the session's database, with a data directory of this test's own."""
    from amanah.core.config import Settings

    return Settings(env="test", database_url=database_url, data_dir=tmp_path / "data",
                    base_url="http://testserver", captcha="test", webhook_allow_private=True,
                    vault_key_file=vault_key_file, jobs="manual")


@pytest.fixture
def client(settings, engine):
    """The whole ASGI app in-process (FastAPI's TestClient: real HTTP semantics, no socket)."""
    from fastapi.testclient import TestClient

    from amanah.api.app import create_app

    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture(autouse=True)
def _service_mode_back_to_normal(request):
    """The session's tests share one database and the service mode is global: a test (or the
    fuzzer, which calls ``PUT /v1/admin/service-mode`` too) that winds the service down must not
    leave the rest of the suite wound down."""
    engine = request.getfixturevalue("engine") if "engine" in request.fixturenames else None
    yield
    if engine is None:
        return
    from amanah.core import service_mode
    from amanah.core.clock import clock
    from amanah.core.db import run_in_transaction

    def reset(connection):
        if service_mode.current(connection).mode is not service_mode.Mode.NORMAL:
            service_mode.set_mode(connection, "normal", changed_by="test teardown", now=clock.now())

    run_in_transaction(engine, reset)


def user_with_token(engine: Engine, label: str = "user") -> tuple[str, str]:
    """A new user (registered automatically, as a platform's buyer is: no password to hash) and
    an API access token for them: ``(user_id, token)``."""
    from amanah.core.clock import clock
    from amanah.core.db import run_in_transaction
    from amanah.users import service as users

    def work(connection):
        user = users.register_automatically(connection, f"{label}.{secrets.token_hex(6)}@example.com", now=clock.now())
        return user.id, users.issue_access_token(connection, user.id, now=clock.now()).access_token

    return run_in_transaction(engine, work)
