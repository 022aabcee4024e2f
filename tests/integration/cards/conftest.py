from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.conftest import user_with_token


@dataclass
class Holder:
    """A user with an API token, made through the users service (no password hashing cost)."""

    id: str
    token: str

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def settings(settings):
    # The sandbox's timeout card waits for the connector timeout; a short one keeps tests fast.
    return settings.model_copy(update={"connector_timeout_s": 0.05})


@pytest.fixture
def make_holder(engine):
    return lambda: Holder(*user_with_token(engine, "holder"))


@pytest.fixture
def holder(make_holder) -> Holder:
    return make_holder()


def card_body(number: str = "4242 4242 4242 4242", **changes) -> dict:
    body = {"number": number, "exp_month": 12, "exp_year": 2031, "cvc": "987", "holder_name": "Dewi Lestari"}
    return {**body, **changes}
