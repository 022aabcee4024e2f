"""Each TOTP code works once, however many requests carry it at the same instant (issue 27).

The same code fired from ten threads at once — at the API's log-in, at the back office's log-in,
at the two-factor switches — opens exactly one door: the last used step is claimed by one
conditional UPDATE, and only the request whose UPDATE changed the row succeeds. Real parallel
connections need PostgreSQL (SQLite runs one writer at a time anyway)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pyotp
import pytest
import sqlalchemy as sa

from amanah.operators.models import operator_sessions
from amanah.users.models import user_tokens, users
from amanah.users.service import throttle
from tests.integration.backoffice.conftest import create_operator
from tests.integration.users.conftest import GOOD_PASSWORD, bearer, random_address, register, token_for
from tests.integration.users.test_two_factor import code_at

pytestmark = pytest.mark.postgres_only

THREADS = 10


def at_once(call, times: int = THREADS) -> list:
    """``call(i)`` from ``times`` threads released together; the responses."""
    barrier = threading.Barrier(times)

    def run(i):
        barrier.wait()
        return call(i)

    with ThreadPoolExecutor(times) as pool:
        return list(pool.map(run, range(times)))


@pytest.fixture
def two_factor_user(client, email) -> tuple[str, str, pyotp.TOTP]:
    register(client, email)
    token = token_for(client, email)
    secret = client.post("/v1/me/two-factor", json={"password": GOOD_PASSWORD}, headers=bearer(token)).json()["secret"]
    totp = pyotp.TOTP(secret)
    assert client.post("/v1/me/two-factor/confirm", json={"code": code_at(totp)},
                       headers=bearer(token)).status_code == 200
    return email, token, totp


def access_tokens(engine, email: str) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(user_tokens).join(
            users, users.c.id == user_tokens.c.user_id).where(
            users.c.email == email, user_tokens.c.purpose == "access")).scalar_one()


def test_one_code_sent_ten_times_at_once_gives_one_token(client, engine, two_factor_user):
    email, _token, totp = two_factor_user
    before = access_tokens(engine, email)
    code = code_at(totp, 1)  # a step after the one the confirmation used
    answers = at_once(lambda i: client.post("/v1/auth/token", json={
        "email": email, "password": GOOD_PASSWORD, "totp_code": code}, headers={"X-Forwarded-For": random_address()}))
    statuses = sorted(response.status_code for response in answers)
    assert statuses.count(200) == 1, statuses
    assert all(status in (401, 429) for status in statuses if status != 200), statuses
    assert access_tokens(engine, email) == before + 1


def test_one_code_sent_ten_times_at_once_to_the_back_office_opens_one_session(client, engine, settings):
    operator = create_operator(engine, settings)
    form = operator.form()
    answers = at_once(lambda i: client.post("/backoffice/login", data=form, follow_redirects=False,
                                            headers={"X-Forwarded-For": random_address()}))
    statuses = sorted(response.status_code for response in answers)
    assert statuses.count(303) == 1, statuses
    with engine.connect() as conn:
        sessions = conn.execute(sa.select(sa.func.count()).select_from(operator_sessions).where(
            operator_sessions.c.operator_id == operator.id)).scalar_one()
    assert sessions == 1


def test_one_code_confirms_two_factor_once(client, engine, email):
    register(client, email)
    token = token_for(client, email)
    secret = client.post("/v1/me/two-factor", json={"password": GOOD_PASSWORD}, headers=bearer(token)).json()["secret"]
    code = code_at(pyotp.TOTP(secret))
    answers = at_once(lambda i: client.post("/v1/me/two-factor/confirm", json={"code": code}, headers=bearer(token)))
    statuses = sorted(response.status_code for response in answers)
    assert statuses.count(200) == 1, statuses
    assert set(statuses) <= {200, 401, 409}, statuses


def test_a_code_used_by_parallel_log_ins_cannot_then_turn_two_factor_off(client, engine, two_factor_user):
    email, token, totp = two_factor_user
    code = code_at(totp, 1)
    answers = at_once(lambda i: client.post("/v1/auth/token", json={
        "email": email, "password": GOOD_PASSWORD, "totp_code": code}, headers={"X-Forwarded-For": random_address()}))
    assert sum(response.status_code == 200 for response in answers) == 1
    with engine.begin() as conn:  # the nine refused log-ins slowed the account: not what is tested here
        throttle.clear(conn, throttle.keys_for(email, "").account)
    disable = client.post("/v1/me/two-factor/disable", json={"password": GOOD_PASSWORD, "totp_code": code},
                          headers=bearer(token))
    assert disable.status_code == 401 and disable.json()["error"]["code"] == "two_factor_invalid"
    assert client.get("/v1/me", headers=bearer(token)).json()["two_factor_enabled"] is True
