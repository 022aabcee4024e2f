"""A process dying between recording a top-up and starting its charge: no charge exists for the
charge-recovery job to settle. A retry with the same Idempotency-Key starts the charge (once,
however many retries run at once); without one, ``wallet.fail_unstarted_topups`` marks the
top-up failed (``not_started``) after ``TOPUP_UNSTARTED_FAIL_AFTER_S``. Either way the user
never sees it "processing" for ever, and the money moves at most once."""

from __future__ import annotations

import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import sqlalchemy as sa

from amanah.cards.models import charges
from amanah.core import ids, limits, service_mode
from amanah.core.clock import clock
from amanah.core.db import run_in_transaction
from amanah.money import Money, currency
from amanah.wallet.service import topups

AMOUNT = 2500


def record_then_crash(person, settings, engine, card_id: str, key: str) -> str:
    """Runs the top-up's first step (committed) under the id the API derives from ``key``,
    then stops as a killed process would: before the charge is even recorded."""
    topup_id = ids.for_request("top", person.id, key)
    request = topups.TopupRequest(amount=Money(AMOUNT, currency("USD")), source=card_id)
    run_in_transaction(engine, lambda c: topups._record(c, settings, topup_id, person.id, request, clock.now()))
    return topup_id


def charges_for(engine, topup_id: str) -> list:
    with engine.connect() as connection:
        return connection.execute(sa.select(charges.c.id, charges.c.status).where(
            charges.c.purpose == f"topup:{topup_id}")).all()


def get(person, topup_id: str) -> dict:
    response = person.client.get(f"/v1/me/topups/{topup_id}", headers=person.headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_job_waits_longer_than_the_idempotency_lease():
    # Until the lease ends nobody can retry; the retry must get its chance before the job gives up.
    assert limits.TOPUP_UNSTARTED_FAIL_AFTER_S > 2 * limits.IDEMPOTENCY_LEASE_S


class TestACrashBeforeTheChargeStarted:
    def test_a_retry_with_the_same_key_charges_once_and_credits_once(self, person, settings, engine, market):
        card_id = person.bind()
        key = f"topup-{secrets.token_hex(8)}"
        topup_id = record_then_crash(person, settings, engine, card_id, key)
        assert get(person, topup_id)["status"] == "processing" and charges_for(engine, topup_id) == []
        market.advance(limits.IDEMPOTENCY_LEASE_S + 1)  # the jobs run: none settles it, none fails it yet
        assert get(person, topup_id)["status"] == "processing"

        headers = {**person.headers, "Idempotency-Key": key}
        body = {"amount": AMOUNT, "currency": "USD", "card_id": card_id}
        retried = person.client.post("/v1/me/topups", headers=headers, json=body)
        assert retried.status_code == 201, retried.text
        assert (retried.json()["id"], retried.json()["status"]) == (topup_id, "succeeded")
        assert [status for _, status in charges_for(engine, topup_id)] == ["succeeded"]
        assert person.balance()["available"] == AMOUNT

        again = person.client.post("/v1/me/topups", headers=headers, json=body)  # the stored answer
        assert again.json() == retried.json()
        market.advance(limits.TOPUP_UNSTARTED_FAIL_AFTER_S + 1)  # the job leaves a charged top-up alone
        assert get(person, topup_id)["status"] == "succeeded"
        assert len(charges_for(engine, topup_id)) == 1 and person.balance()["available"] == AMOUNT
        market.verify()

    def test_without_a_retry_the_job_marks_it_failed_and_nothing_moves(self, person, settings, engine, market):
        card_id = person.bind()
        key = f"topup-{secrets.token_hex(8)}"
        topup_id = record_then_crash(person, settings, engine, card_id, key)
        market.advance(limits.TOPUP_UNSTARTED_FAIL_AFTER_S - 60)
        assert get(person, topup_id)["status"] == "processing"  # not yet: a retry may still come
        ran = market.advance(61)["jobs_run"]
        assert ran["wallet.fail_unstarted_topups"] >= 1
        failed = get(person, topup_id)
        assert (failed["status"], failed["failure_code"]) == ("failed", "not_started")
        assert charges_for(engine, topup_id) == [] and person.balance()["available"] == 0
        assert person.history()["data"] == []

        # a retry now (the key's first answer was never stored) gets the failed top-up, and charges nothing
        retried = person.client.post("/v1/me/topups", headers={**person.headers, "Idempotency-Key": key},
                                     json={"amount": AMOUNT, "currency": "USD", "card_id": card_id})
        assert retried.status_code == 201, retried.text
        assert (retried.json()["id"], retried.json()["status"]) == (topup_id, "failed")
        assert charges_for(engine, topup_id) == [] and person.balance()["available"] == 0
        market.verify()

    def test_a_retry_while_winding_down_is_refused_and_the_top_up_fails(self, person, settings, engine, market):
        card_id = person.bind()
        key = f"topup-{secrets.token_hex(8)}"
        topup_id = record_then_crash(person, settings, engine, card_id, key)
        run_in_transaction(engine, lambda c: service_mode.set_mode(c, "wind_down", changed_by="test", now=clock.now()))
        try:
            retried = person.client.post("/v1/me/topups", headers={**person.headers, "Idempotency-Key": key},
                                         json={"amount": AMOUNT, "currency": "USD", "card_id": card_id})
        finally:
            run_in_transaction(engine, lambda c: service_mode.set_mode(c, "normal", changed_by="test",
                                                                       now=clock.now()))
        assert retried.status_code == 403 and retried.json()["error"]["type"] == "service_mode"
        assert get(person, topup_id)["status"] == "failed"
        assert charges_for(engine, topup_id) == [] and person.balance()["available"] == 0
        market.verify()


def race(*calls):
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return [future.result() for future in [pool.submit(run, call) for call in calls]]


@pytest.mark.postgres_only
class TestRetriesAtOnce:
    ROUNDS = 6

    def test_concurrent_retries_charge_once(self, person, settings, engine, market):
        """Over HTTP the idempotency middleware answers a concurrent repeat 409; here the runs that
        got past it (a lease that ended under a slow first run) meet in the service itself."""
        card_id = person.bind()
        for round_ in range(self.ROUNDS):
            key = f"topup-{secrets.token_hex(8)}"
            topup_id = record_then_crash(person, settings, engine, card_id, key)
            request = topups.TopupRequest(amount=Money(AMOUNT, currency("USD")), source=card_id)

            def retry():
                return topups.start_topup(engine, settings, person.id, request, now=clock.now(), topup_id=topup_id)

            results = race(retry, retry, retry)
            assert {result["id"] for result in results} == {topup_id}
            assert "succeeded" in {result["status"] for result in results}
            assert get(person, topup_id)["status"] == "succeeded"
            assert [status for _, status in charges_for(engine, topup_id)] == ["succeeded"]
            assert person.balance()["available"] == AMOUNT * (round_ + 1)
        market.verify()

    def test_a_retry_and_the_job_at_once_end_one_way_or_the_other(self, person, settings, engine, market):
        card_id = person.bind()
        before = 0
        for _ in range(self.ROUNDS):
            topup_id = record_then_crash(person, settings, engine, card_id, f"topup-{secrets.token_hex(8)}")
            request = topups.TopupRequest(amount=Money(AMOUNT, currency("USD")), source=card_id)
            later = clock.now() + timedelta(seconds=limits.TOPUP_UNSTARTED_FAIL_AFTER_S + 1)
            race(lambda: topups.start_topup(engine, settings, person.id, request, now=clock.now(), topup_id=topup_id),
                 lambda: topups.fail_unstarted(engine, now=later, older_than_s=limits.TOPUP_UNSTARTED_FAIL_AFTER_S,
                                               limit=limits.UNSTARTED_FAILED_PER_RUN_MAX))
            final = get(person, topup_id)
            found = charges_for(engine, topup_id)
            balance = person.balance()["available"]
            if final["status"] == "succeeded":
                assert [status for _, status in found] == ["succeeded"] and balance == before + AMOUNT
            else:
                assert (final["status"], final["failure_code"]) == ("failed", "not_started")
                assert found == [] and balance == before
            before = balance
        market.verify()
