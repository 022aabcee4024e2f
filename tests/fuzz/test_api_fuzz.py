"""Schemathesis against ``/openapi.json``: every operation, positive and negative data, every
check (no 5xx; statuses, content types, headers and bodies as documented; invalid input
refused; valid input accepted; auth not ignored; ...), called as the operation's caller (a
platform, a buyer or an operator) on a seeded marketplace.

Short profile by default (CI); ``AMANAH_FUZZ_EXAMPLES=500`` for a long run by hand (examples
per operation and mode, randomised instead of the CI's fixed seed)."""

from __future__ import annotations

import tempfile
import uuid
import zlib
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from amanah.api.app import create_app
from amanah.core.config import Settings

from .conftest import FUZZ_EXAMPLES

EXAMPLES = FUZZ_EXAMPLES or 12


def _document() -> dict:
    """The app's OpenAPI document at collection time (one pytest item per operation)."""
    scratch = Path(tempfile.mkdtemp(prefix="amanah-openapi-"))
    app = create_app(Settings(env="test", database_url=f"sqlite:///{scratch / 'unused.db'}", data_dir=scratch))
    return app.openapi()


SCHEMA = schemathesis.openapi.from_dict(_document())
OPERATIONS = {f"{op.method.upper()} {op.path}": op for op in (result.ok() for result in SCHEMA.get_all_operations())}


def headers_for(case, world) -> dict:
    """No credentials where the case itself made the headers invalid (a missing Authorization is
    the point of such a case). Otherwise The caller the operation is for; where a platform or a user may call, either (chosen
    from the case itself, so that a failing example replays with the same caller)."""
    if any(location.name.lower() == "header" and info.mode.value == "negative"
           for location, info in (case.meta.components.items() if case.meta else ())):
        return {}
    security = {name for requirement in case.operation.definition.raw.get("security", []) for name in requirement}
    if "OperatorKey" in security:
        return dict(world.operator_headers)
    if security == {"UserToken"}:
        if case.operation.path == "/v1/auth/logout":
            return world.fresh_buyer_headers()
        if case.operation.path == "/v1/me/close":
            return world.throwaway_user_headers()  # closing the seeded buyer would end the run
        return dict(world.buyer_headers)
    if security == {"PlatformKey"}:
        return dict(world.platform_headers)
    if security:
        return dict(world.platform_headers if _pick(case, 2) == 0 else world.buyer_headers)
    return {}


def _pick(case, choices: int) -> int:
    return zlib.crc32(repr((case.path_parameters, case.query, case.body)).encode()) % choices


def use_known_ids(case, world) -> None:
    """Half the positive examples address objects that exist, so that the actions get past 404."""
    for name in list(case.path_parameters or {}):
        known = world.ids.get(name)
        if known and _pick(case, 2) == 0:
            case.path_parameters[name] = known[_pick(case, len(known))]


@schemathesis.check
def valid_data_passes_request_validation(ctx, response, case):
    """Schema-valid data must get past the request validator: a 400 with the validator's generic
    code means the document promises more than the server takes. (Schemathesis's own
    ``positive_data_acceptance`` would also count the domain's refusals of well-formed input,
    e.g. ``unsupported_currency`` for "ABC", ``card_declined``, a wrong captcha: those are
    right answers, each with its own code, and are not counted.)"""
    if GenerationMode.POSITIVE.value not in str(getattr(getattr(case.meta, "generation", None), "mode", "")):
        return None
    if response.status_code == 400:
        error = (response.json() or {}).get("error", {})
        message = str(error.get("message", ""))
        # Cross-field rules (pydantic's "Value error, ...") and e-mail deliverability (reserved
        # domains such as .test) are beyond what JSON Schema can say; the rest is a lie.
        deliberate = "Value error," in message or "not a valid email address" in message
        if error.get("code") == "invalid_request" and not deliberate:
            raise AssertionError(f"schema-valid input refused by request validation: {error.get('message')}")
    return None


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_the_api_answers_every_generated_request_as_documented(label, mode, world):
    operation = OPERATIONS[label]
    operation.schema.app = operation.app = world.app
    try:
        strategy = operation.as_strategy(generation_mode=mode)
    except Exception as error:  # an operation with nothing to negate (no parameters, no body)
        pytest.skip(f"no {mode.value} data for {label}: {error}")

    @given(case=strategy)
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=not FUZZ_EXAMPLES, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case):
        if mode is GenerationMode.POSITIVE:
            use_known_ids(case, world)
        headers = headers_for(case, world)
        if headers and any(name.lower() == "idempotency-key" for name in case.headers or {}):
            # A key of its own per case: generated keys ("0", "a") repeat across operations, and
            # the middleware stores a 401 under a wrong credential's scope (see
            # tests/security/test_idempotency_scope.py), which would hide what a case tests.
            headers["Idempotency-Key"] = f"fuzz-{uuid.uuid4().hex}"
        try:
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance],
                                   additional_checks=[valid_data_passes_request_validation])
        finally:
            if case.operation.path == "/v1/admin/service-mode":
                world.back_to_normal()  # a generated wind-down would refuse every later example

    try:
        run()
    except Unsatisfiable:
        pytest.skip(f"{label} has nothing to make {mode.value} data from")
