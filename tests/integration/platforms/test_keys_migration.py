"""Migration 0023: a platform made before keys could rotate keeps its key (now a row of
``platform_keys``), on a database that has sellers naming it (SQLite copies the platforms
table to change it: that must not trip the sellers' foreign keys)."""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import command

from amanah.core import migrate
from amanah.core.clock import clock
from amanah.core.db import create_engine, run_in_transaction
from amanah.core.secrets import hash_secret, new_secret
from amanah.platforms import service as platforms

import pytest

BEFORE = "0020_seller_consent"
WHEN = datetime(2026, 1, 1, tzinfo=timezone.utc)


@pytest.fixture
def old_database(tmp_path_factory):
    """A database at migration 0020 with a platform (its key in ``platforms.key_hash``) and a seller."""
    from tests.conftest import ON_POSTGRES, _create_postgres_database, _drop_postgres_database

    url = _create_postgres_database() if ON_POSTGRES else f"sqlite:///{tmp_path_factory.mktemp('old') / 'a.db'}"
    engine = create_engine(url)
    config = migrate._config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, BEFORE)
    secret = new_secret("sk")
    with engine.begin() as connection:
        connection.execute(sa.text("INSERT INTO platforms (id, name, key_hash, created_at) "
                                   "VALUES ('plt_old', 'Old Bazaar', :h, :t)"), {"h": hash_secret(secret), "t": WHEN})
        connection.execute(sa.text("INSERT INTO users (id, email, name, registered_automatically, created_at, "
                                   "updated_at) VALUES ('usr_old', 'old@example.com', 'Old', true, :t, :t)"),
                           {"t": WHEN})
        connection.execute(sa.text("INSERT INTO sellers (id, platform_id, platform_seller_id, user_id, name, "
                                   "created_at) VALUES ('sel_old', 'plt_old', 's1', 'usr_old', 'Shop', :t)"),
                           {"t": WHEN})
    yield engine, secret
    engine.dispose()
    if ON_POSTGRES:
        _drop_postgres_database(url)


def test_the_old_key_becomes_an_active_key_of_its_platform(old_database):
    engine, secret = old_database
    migrate.upgrade(engine)
    found = run_in_transaction(engine, lambda c: platforms.authenticate(c, secret, now=clock.now()))
    assert found.id == "plt_old"
    listed, _more = run_in_transaction(engine, lambda c: platforms.list_keys(c, "plt_old", now=clock.now()))
    assert [(key.status.value, key.created_at, key.expires_at) for key in listed] == [("active", WHEN, None)]
    with engine.connect() as connection:
        assert "key_hash" not in {column["name"] for column in sa.inspect(connection).get_columns("platforms")}
        assert connection.execute(sa.text("SELECT platform_id FROM sellers")).scalars().all() == ["plt_old"]
