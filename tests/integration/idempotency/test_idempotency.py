"""Idempotency keys on every POST (API.md, "Conventions"): replay, refusal of a different
body, 409 while running, caller scope, and what is (not) stored."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from amanah.api import idempotency
from amanah.core import limits
from amanah.core.clock import clock

from .conftest import card_body, new_key

PARALLEL_REQUESTS = 50


def cards_of(client, caller) -> list[dict]:
    return client.get("/v1/me/cards", headers=caller.headers()).json()["data"]


class TestARepeatIsAnsweredFromTheFirstResponse:
    def test_the_same_key_and_body_replays_the_status_and_body_without_binding_again(self, client, caller):
        key = new_key()
        first = client.post("/v1/me/cards", json=card_body(), headers=caller.headers(key))
        again = client.post("/v1/me/cards", json=card_body(), headers=caller.headers(key))
        assert first.status_code == again.status_code == 201
        assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
        assert "idempotent-replayed" not in first.headers
        assert [card["id"] for card in cards_of(client, caller)] == [first.json()["id"]]

    def test_json_with_the_keys_in_another_order_is_the_same_body(self, client, caller):
        key = new_key()
        body = card_body()
        first = client.post("/v1/me/cards", json=body, headers=caller.headers(key))
        again = client.post("/v1/me/cards", content=_json_reversed(body), headers=caller.headers(key) | {
            "content-type": "application/json"})
        assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"

    def test_an_error_response_is_replayed_too(self, client, caller):
        key = new_key()
        first = client.post("/v1/me/cards", json=card_body("4242424242424241"), headers=caller.headers(key))
        again = client.post("/v1/me/cards", json=card_body("4242424242424241"), headers=caller.headers(key))
        assert first.status_code == again.status_code == 400
        assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"

    def test_without_a_key_nothing_is_stored(self, probe_client, probe):
        for _ in range(2):
            assert probe_client.post("/v1/probe/effects", json={"a": 1}).status_code == 201
        assert probe.runs == 2

    def test_cookies_set_by_the_first_response_are_not_replayed(self, probe_client, probe):
        key = new_key()
        first = probe_client.post("/v1/probe/effects", json={"a": 1}, headers={"Idempotency-Key": key})
        again = probe_client.post("/v1/probe/effects", json={"a": 1}, headers={"Idempotency-Key": key})
        assert "set-cookie" in first.headers and "set-cookie" not in again.headers
        assert again.json() == first.json() and probe.runs == 1


class TestADifferentRequestWithTheSameKey:
    def test_a_different_body_is_a_422_of_type_idempotency_and_does_nothing(self, client, caller):
        key = new_key()
        assert client.post("/v1/me/cards", json=card_body(), headers=caller.headers(key)).status_code == 201
        other = client.post("/v1/me/cards", json=card_body("5555555555554444"), headers=caller.headers(key))
        assert other.status_code == 422
        error = other.json()["error"]
        assert (error["type"], error["code"], error["param"]) == ("idempotency", "idempotency_key_reused",
                                                                 "Idempotency-Key")
        assert len(cards_of(client, caller)) == 1

    def test_another_path_is_a_different_request(self, probe_client, client, caller):
        key = new_key()
        assert client.post("/v1/me/cards", json=card_body(), headers=caller.headers(key)).status_code == 201
        other = client.post("/v1/me/cards?x=1", json=card_body(), headers=caller.headers(key))
        assert other.status_code == 422


class TestKeysBelongToTheCaller:
    def test_another_callers_same_key_and_body_is_a_request_of_its_own(self, client, caller, make_caller):
        key, other = new_key(), make_caller()
        mine = client.post("/v1/me/cards", json=card_body(), headers=caller.headers(key))
        theirs = client.post("/v1/me/cards", json=card_body(), headers=other.headers(key))
        assert mine.status_code == theirs.status_code == 201
        assert mine.json()["id"] != theirs.json()["id"] and "idempotent-replayed" not in theirs.headers

    def test_a_platform_cannot_replay_another_platforms_response(self, probe_client, probe):
        key = new_key()
        first = probe_client.post("/v1/probe/effects", json={}, headers={"Idempotency-Key": key,
                                                                         "Authorization": "Bearer sk_one"})
        second = probe_client.post("/v1/probe/effects", json={}, headers={"Idempotency-Key": key,
                                                                          "Authorization": "Bearer sk_two"})
        assert (first.json()["run"], second.json()["run"]) == (1, 2)


class TestARepeatWhileTheFirstIsRunning:
    def test_it_is_a_409_and_once_the_first_is_done_the_repeat_replays(self, probe_client, probe):
        key, probe.gate = new_key(), threading.Event()
        with ThreadPoolExecutor(1) as pool:
            first = pool.submit(probe_client.post, "/v1/probe/effects", json={"a": 1}, headers={"Idempotency-Key": key})
            assert probe.entered.wait(10)
            during = probe_client.post("/v1/probe/effects", json={"a": 1}, headers={"Idempotency-Key": key})
            probe.gate.set()
            first = first.result(10)
        assert during.status_code == 409
        assert (during.json()["error"]["type"], during.json()["error"]["code"]) == ("conflict", "idempotency_key_in_use")
        after = probe_client.post("/v1/probe/effects", json={"a": 1}, headers={"Idempotency-Key": key})
        assert after.json() == first.json() and probe.runs == 1

    def test_fifty_parallel_repeats_bind_one_card_and_the_rest_replay_or_wait(self, client, caller):
        key = new_key()

        def post(_):
            return client.post("/v1/me/cards", json=card_body(), headers=caller.headers(key))

        with ThreadPoolExecutor(PARALLEL_REQUESTS) as pool:
            responses = list(pool.map(post, range(PARALLEL_REQUESTS)))
        created = [r for r in responses if r.status_code == 201]
        waiting = [r for r in responses if r.status_code == 409]
        assert len(created) + len(waiting) == PARALLEL_REQUESTS, {r.status_code for r in responses}
        assert {r.json()["error"]["code"] for r in waiting} <= {"idempotency_key_in_use"}
        assert len({r.text for r in created}) == 1
        assert [card["id"] for card in cards_of(client, caller)] == [created[0].json()["id"]]
        assert sum("idempotent-replayed" not in r.headers for r in created) == 1
        different = client.post("/v1/me/cards", json=card_body("5555555555554444"), headers=caller.headers(key))
        assert different.status_code == 422


class TestFailuresAndCrashes:
    def test_a_500_is_not_stored_so_a_retry_runs_again(self, probe_client, probe):
        key, probe.fail_next = new_key(), True
        failed = probe_client.post("/v1/probe/effects", json={"a": 1}, headers={"Idempotency-Key": key})
        retried = probe_client.post("/v1/probe/effects", json={"a": 1}, headers={"Idempotency-Key": key})
        assert failed.status_code == 500 and failed.json()["error"]["type"] == "internal"
        assert retried.status_code == 201 and retried.json()["run"] == 2

    def test_after_the_lease_of_a_crashed_run_a_repeat_runs_and_its_answer_is_the_one_kept(self, probe_client, probe):
        key, gate = new_key(), threading.Event()
        probe.gate = gate
        with ThreadPoolExecutor(1) as pool:
            stuck = pool.submit(probe_client.post, "/v1/probe/effects", json={}, headers={"Idempotency-Key": key})
            assert probe.entered.wait(10)
            clock.advance(limits.IDEMPOTENCY_LEASE_S + 1)  # the first run is now taken for dead
            probe.gate = None
            retried = probe_client.post("/v1/probe/effects", json={}, headers={"Idempotency-Key": key})
            assert retried.status_code == 201 and retried.json()["run"] == 2
            gate.set()  # the "dead" run finishes after all: its answer must not replace the kept one
            assert stuck.result(10).json()["run"] == 1
        later = probe_client.post("/v1/probe/effects", json={}, headers={"Idempotency-Key": key})
        assert later.json() == retried.json()

    def test_a_malformed_key_is_a_400_naming_the_header(self, probe_client, probe):
        for key in ("x" * (limits.IDEMPOTENCY_KEY_LENGTH_MAX + 1), "clé".encode("utf-8")):
            response = probe_client.post("/v1/probe/effects", json={}, headers={"Idempotency-Key": key})
            assert response.status_code == 400 and response.json()["error"]["param"] == "Idempotency-Key"
        assert probe.runs == 0


class TestKeysAreKeptAtLeastADay:
    def test_a_key_replays_for_24_hours_and_is_purged_after(self, probe_client, probe, engine):
        key = new_key()
        first = probe_client.post("/v1/probe/effects", json={}, headers={"Idempotency-Key": key})
        clock.advance(24 * 3600)
        assert probe_client.post("/v1/probe/effects", json={}, headers={"Idempotency-Key": key}).json() == first.json()
        clock.advance(limits.IDEMPOTENCY_KEY_TTL_S - 24 * 3600)
        from amanah.api.jobs import purge_idempotency_keys

        while purge_idempotency_keys(engine, None, clock.now()):
            pass
        with engine.connect() as connection:
            left = connection.execute(sa.select(sa.func.count()).select_from(idempotency.keys).where(
                idempotency.keys.c.key == key)).scalar()
        assert left == 0
        assert probe_client.post("/v1/probe/effects", json={"new": 1}, headers={"Idempotency-Key": key}).status_code == 201


def _json_reversed(body: dict) -> str:
    import json

    return json.dumps(dict(reversed(list(body.items()))), indent=2)


class TestWhatTheKeyDoesNotCover:
    def test_answers_carrying_credentials_are_never_stored(self, client):
        key = new_key()
        body = {"email": "nobody@example.com", "password": "not the password"}
        for _ in range(2):
            response = client.post("/v1/auth/token", json=body, headers={"Idempotency-Key": key})
            assert response.status_code == 401 and "idempotent-replayed" not in response.headers

    def test_the_openapi_document_describes_the_header_on_every_post(self, client):
        paths = client.get("/openapi.json").json()["paths"]
        bind = paths["/v1/me/cards"]["post"]
        assert any(parameter["name"] == "Idempotency-Key" for parameter in bind["parameters"])
        assert {"409", "422"} <= set(bind["responses"])
        assert not any(p["name"] == "Idempotency-Key" for p in paths["/v1/auth/token"]["post"].get("parameters", []))
        again = client.get("/openapi.json").json()["paths"]["/v1/me/cards"]["post"]["parameters"]
        assert [p["name"] for p in again].count("Idempotency-Key") == 1
