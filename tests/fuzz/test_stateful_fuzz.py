"""Stateful fuzzing: schemathesis follows the OpenAPI links (src/amanah/api/links.py) from the
operations that create objects to the ones that use their ids — a trade is opened, paid,
shipped, refunded, disputed, confirmed; a card bound, read and deleted; a webhook endpoint
added, read, its deliveries listed, deleted; a top-up, a withdrawal, a quote read back —
with generated data at every step, and checks every answer (no 5xx, statuses, content types,
headers and bodies as documented).

Each call goes out as the operation's caller: the platform, the seeded buyer (the trades the
platform opens are, most of the time, for that buyer and one of its sellers, so that the
chain gets past 404 and 403), and after every scenario the operator asks the ledger to verify
itself (``GET /v1/admin/ledger/verify``): whatever the sequence, the books must balance.

``AMANAH_FUZZ_EXAMPLES`` sets the number of scenarios (default: a short, derandomised CI run).
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections import Counter

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from .conftest import FUZZ_EXAMPLES
from .test_api_fuzz import _document, _pick, headers_for, valid_data_passes_request_validation

SCENARIOS = FUZZ_EXAMPLES or 25
STEPS_MAX = 8
ROUNDS_MAX = 10
LINKED_FAMILIES = r"^/v1/(trades|sellers|me/cards|me/topups|me/withdrawals|webhook_endpoints|webhook_deliveries|fx/quotes)"
"""The operations that create objects and those that use them (the rest is the stateless test's)."""


@pytest.fixture(scope="module")
def buyer_identity(world) -> dict:
    """The seeded buyer as its platform knows it (``buyer`` of a new trade)."""
    trade = world.client.get(f"/v1/trades/{world.ids['trade_id'][0]}", headers=world.platform_headers)
    assert trade.status_code == 200, trade.text
    me = world.client.get("/v1/me", headers=world.buyer_headers)
    assert me.status_code == 200, me.text
    return {"platform_user_id": trade.json()["buyer"]["platform_user_id"], "email": me.json()["email"]}


OUR_ID = re.compile(r"^[a-z]+_[0-9A-Za-z]+$")


def known_ids_for_random_starts(case, world) -> None:
    """A scenario may start at an operation on an existing object (pay, ship, refund...: each
    also links on): there the generated id is random and only a 404 could come back, so it is
    replaced by one of the seeded world's. An id that came through a link looks like ours and
    stays."""
    for name, value in list((case.path_parameters or {}).items()):
        known = world.ids.get(name)
        if known and not OUR_ID.match(str(value)):
            case.path_parameters[name] = known[_pick(case, len(known))]


def steer(case, world, buyer: dict) -> None:
    """Three times in four, a request that creates something is made one the seeded buyer's
    world can take (its seller and buyer, a currency it holds, a card it has, an amount it can
    pay), so that the chain gets past 404 and 403 to the later steps; the rest stays as
    generated. Only bodies are steered: every value put in is still schema-valid."""
    body = case.body if isinstance(case.body, dict) else None
    if body is None or _pick(case, 4) == 0:
        return
    path, method = case.operation.path, case.operation.method.upper()
    if method != "POST":
        return
    small = body["amount"] if isinstance(body.get("amount"), int) and 1 <= body["amount"] <= 50_000 else 1_000
    if path == "/v1/trades":
        body.update(seller_id=world.ids["seller_id"][0], buyer=dict(buyer), currency="USD", amount=small,
                    out_trade_no=f"st-{secrets.token_hex(8)}")
    elif path == "/v1/trades/{trade_id}/pay":
        body.clear()
        body["source"] = "balance"
    elif path == "/v1/trades/{trade_id}/refunds":
        body["amount"] = 1 + _pick(case, 500)
    elif path == "/v1/me/cards":
        body.update(number="4242424242424242", exp_month=12, exp_year=2031, cvc="123")
    elif path == "/v1/me/topups":
        for extra in ("source", "charge_currency", "quote_id"):
            body.pop(extra, None)
        body.update(amount=small, currency="USD", card_id=world.ids["card_id"][0])
    elif path == "/v1/me/withdrawals":
        body.update(amount=small, currency="USD", card_id=world.ids["card_id"][0])
    elif path == "/v1/webhook_endpoints":
        body.update(url=f"http://127.0.0.1:9/{secrets.token_hex(4)}", events=["trade.held"])


def test_linked_operations_chained_with_generated_data_answer_as_documented(world, buyer_identity):
    schema = schemathesis.openapi.from_dict(_document()).include(path_regex=LINKED_FAMILIES)
    schema.app = world.app
    # negative data is the stateless test's business; here every step should be able to succeed
    schema.config.generation.update(modes=[GenerationMode.POSITIVE])
    # only the links the document states (schemathesis would also guess some, e.g. a seller's
    # id as a trade_id, which only adds 404s)
    schema.config.phases.stateful.inference.algorithms = []
    base = schema.as_state_machine()
    verified = []
    calls: Counter = Counter()
    failures: list[str] = []

    class Scenario(base):
        def before_call(self, case):
            known_ids_for_random_starts(case, world)
            steer(case, world, buyer_identity)

        def get_call_kwargs(self, case):
            headers = headers_for(case, world)
            if case.operation.method.upper() == "POST" and headers:
                headers["Idempotency-Key"] = f"stateful-{uuid.uuid4().hex}"
            return {"headers": headers}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            calls[(f"{case.operation.method.upper()} {case.operation.path}", response.status_code)] += 1
            try:
                case.validate_response(response, excluded_checks=[positive_data_acceptance],
                                       additional_checks=[valid_data_passes_request_validation],
                                       transport_kwargs=kwargs or None, recorder=getattr(self, "recorder", None))
            except Exception as error:
                failures.append(f"{case.operation.method.upper()} {case.operation.path} -> {response.status_code}: "
                                f"{error}")
                raise
            finally:
                if case.operation.path == "/v1/admin/service-mode":
                    world.back_to_normal()

        def teardown(self):
            answer = world.client.get("/v1/admin/ledger/verify", headers=world.operator_headers)
            if answer.status_code != 200 or answer.json().get("ok") is not True:
                failures.append(f"ledger verify after a scenario: {answer.status_code} {answer.text[:2000]}")
                raise AssertionError(failures[-1])
            verified.append(answer.json()["checked_transfers"])
            super().teardown()

    # The world outlives each scenario (a trade once paid stays paid), so Hypothesis cannot
    # replay a scenario and draw the same data: no shrinking, and a run that stops on
    # FlakyStrategyDefinition ("data generation behaved differently", not an answer of the
    # API) is followed by another, until SCENARIOS have run. Failures of the checks are
    # recorded as they happen, so no replay can hide one.
    interrupted = 0
    for round_number in range(ROUNDS_MAX):
        try:
            Scenario.run(settings=hypothesis.settings(
                max_examples=SCENARIOS - len(verified), stateful_step_count=STEPS_MAX, deadline=None,
                derandomize=not FUZZ_EXAMPLES and round_number == 0, database=None,
                suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate]))
        except hypothesis.errors.FlakyStrategyDefinition:
            interrupted += 1
        except Exception:
            if not failures:
                raise
        if failures or len(verified) >= SCENARIOS:
            break
    if failures:
        pytest.fail(f"{len(failures)} failed checks; the first:\n" + "\n\n".join(failures[:3]))
    assert verified, "no scenario ran"
    by_operation = Counter()
    for (label, status), count in calls.items():
        by_operation[label] += count
    print(f"\nstateful fuzzing: {len(verified)} scenarios ({interrupted} runs restarted on Hypothesis's "
          f"inconsistent-generation error), {sum(calls.values())} calls to {len(by_operation)} operations, "
          f"0 failures; the ledger verified after every scenario")
    for (label, status), count in sorted(calls.items()):
        print(f"  {label} -> {status}: {count}")
    # the chains went somewhere: objects were made, and reached through the links
    assert any(label.startswith("POST ") and status == 201 for label, status in calls)
    assert any("{" in label and status < 300 for label, status in calls)
