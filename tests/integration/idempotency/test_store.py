"""The idempotency keys' store (``begin`` and ``finish``): a new key is one statement, storing
the answer one; a key that expired, a lease that ran out, and requests arriving together."""

from __future__ import annotations

import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from amanah.api import idempotency
from amanah.api.idempotency import KeyedRequest, Proceed, Refuse, Stored
from amanah.core import limits
from amanah.core.clock import clock
from amanah.core.db import run_autocommit
from tests.round_trips import RoundTrips

TOGETHER = 20
"""Requests with one key sent at the same moment."""


def keyed(fingerprint: str = "f" * 64) -> KeyedRequest:
    return KeyedRequest(scope=secrets.token_hex(32), key=f"key-{secrets.token_hex(8)}", fingerprint=fingerprint)


def stored(body: bytes = b'{"ok":true}') -> Stored:
    return Stored(201, [["content-type", "application/json"]], body)


class _Listened:
    """SQLite's statements, as SQLAlchemy's listener sees them (the first three words of each)."""

    def __init__(self, engine) -> None:
        self.engine, self.sent = engine, []

    def __enter__(self) -> "_Listened":
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *_exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)

    def _record(self, _connection, _cursor, statement, *_args) -> None:
        self.sent.append(" ".join(statement.split()[:3]))

    def labels(self) -> list[str]:
        return self.sent


def sent_by(engine, work):
    """What ``work`` returns, and what it sends to the database, run in a thread of its own (so
    that its connection is traced from its check-out). On PostgreSQL every round trip on the
    wire (BEGIN and COMMIT too, and statements run on the driver, which SQLAlchemy's listeners do
    not see)."""
    with (RoundTrips(engine) if engine.dialect.name == "postgresql" else _Listened(engine)) as sent:
        with ThreadPoolExecutor(1) as pool:
            result = pool.submit(work).result()
    return result, sent.labels()


def row_of(engine, request: KeyedRequest):
    return run_autocommit(engine, lambda connection: connection.execute(sa.select(idempotency.keys).where(
        idempotency.keys.c.scope == request.scope, idempotency.keys.c.key == request.key)).first())


class TestOneStatementEach:
    def test_a_new_key_is_one_insert_and_its_answer_one_update(self, engine):
        request, now = keyed(), clock.now()

        decision, claimed = sent_by(engine, lambda: idempotency.begin(engine, request, now))
        assert isinstance(decision, Proceed)
        assert claimed == ["INSERT INTO idempotency_keys"]  # no BEGIN, no SELECT, no COMMIT

        _, answered = sent_by(engine, lambda: idempotency.finish(engine, request, decision.lease_token, stored()))
        assert answered == ["UPDATE idempotency_keys SET"]
        assert idempotency.begin(engine, request, now) == stored()

    def test_releasing_a_key_is_one_delete(self, engine):
        request = keyed()
        decision = idempotency.begin(engine, request, clock.now())

        _, released = sent_by(engine, lambda: idempotency.finish(engine, request, decision.lease_token, None))

        assert released == ["DELETE FROM idempotency_keys"]
        assert row_of(engine, request) is None


class TestAKeyKeptLongEnough:
    def test_an_expired_key_is_free_again_for_any_request(self, engine):
        request, now = keyed(), clock.now()
        first = idempotency.begin(engine, request, now)
        idempotency.finish(engine, request, first.lease_token, stored(b"first"))
        later = now + timedelta(seconds=limits.IDEMPOTENCY_KEY_TTL_S)
        other = KeyedRequest(request.scope, request.key, "0" * 64)  # another body: a 422 until it expired

        decision = idempotency.begin(engine, other, later)

        assert isinstance(decision, Proceed)
        row = row_of(engine, other)
        assert (row.fingerprint, row.response_status, row.lease_token) == ("0" * 64, None, decision.lease_token)
        assert row.expires_at == later + timedelta(seconds=limits.IDEMPOTENCY_KEY_TTL_S)


class TestALeaseThatRanOut:
    def test_a_repeat_takes_the_key_over_and_the_first_runs_answer_is_not_kept(self, engine):
        request, now = keyed(), clock.now()
        first = idempotency.begin(engine, request, now)
        after_lease = now + timedelta(seconds=limits.IDEMPOTENCY_LEASE_S + 1)

        assert isinstance(idempotency.begin(engine, request, now + timedelta(seconds=1)), Refuse)  # still in flight
        repeat = idempotency.begin(engine, request, after_lease)
        assert isinstance(repeat, Proceed) and repeat.lease_token != first.lease_token

        idempotency.finish(engine, request, first.lease_token, stored(b"first"))  # the "dead" run comes back
        assert row_of(engine, request).response_status is None
        idempotency.finish(engine, request, repeat.lease_token, stored(b"repeat"))
        assert idempotency.begin(engine, request, after_lease) == stored(b"repeat")

    def test_of_repeats_arriving_together_after_the_lease_one_runs(self, engine):
        request, now = keyed(), clock.now()
        idempotency.begin(engine, request, now)
        after_lease = now + timedelta(seconds=limits.IDEMPOTENCY_LEASE_S + 1)

        decisions = _together(lambda: idempotency.begin(engine, request, after_lease))

        assert sum(isinstance(decision, Proceed) for decision in decisions) == 1
        refused = [decision for decision in decisions if not isinstance(decision, Proceed)]
        assert {(decision.status, decision.code) for decision in refused} == {(409, "idempotency_key_in_use")}


class TestFirstRequestsArrivingTogether:
    def test_one_runs_and_the_others_are_told_it_is_running(self, engine):
        request = keyed()
        now = clock.now()

        decisions = _together(lambda: idempotency.begin(engine, request, now))

        proceeding = [decision for decision in decisions if isinstance(decision, Proceed)]
        assert len(proceeding) == 1
        assert all(isinstance(decision, Refuse) and decision.status == 409 for decision in decisions
                   if not isinstance(decision, Proceed))
        assert row_of(engine, request).lease_token == proceeding[0].lease_token

    def test_a_different_body_arriving_together_is_refused_or_runs_alone(self, engine):
        request = keyed()
        other = KeyedRequest(request.scope, request.key, "0" * 64)
        now = clock.now()

        decisions = _together(lambda: idempotency.begin(engine, request, now), lambda: idempotency.begin(
            engine, other, now))

        assert sum(isinstance(decision, Proceed) for decision in decisions) == 1
        statuses = {decision.status for decision in decisions if isinstance(decision, Refuse)}
        assert statuses <= {409, 422} and statuses


class TestARunAgainAfterItsInsertTookEffect:
    def test_it_recognises_its_own_lease_and_proceeds(self, engine):
        # A connection lost after the INSERT committed runs ``begin``'s work again: it must not
        # answer its own request 409.
        request, now = keyed(), clock.now()
        lease = {"lease_token": secrets.token_hex(16),
                 "locked_until": now + timedelta(seconds=limits.IDEMPOTENCY_LEASE_S)}

        def run():
            return run_autocommit(engine, lambda connection: idempotency._begin(connection, request, lease, now))

        assert run() == run() == Proceed(lease["lease_token"])


def _together(*calls) -> list:
    """``TOGETHER`` calls (taking turns among ``calls``) released at one moment."""
    start = threading.Barrier(TOGETHER)

    def call(index: int):
        start.wait(10)
        return calls[index % len(calls)]()

    with ThreadPoolExecutor(TOGETHER) as pool:
        return list(pool.map(call, range(TOGETHER)))
