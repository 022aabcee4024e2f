"""The sandbox's 3-D Secure and e-wallet pages decide a payment only for its payer (issue 28):
the holder of the link the payment returned, or the buyer's own session with its CSRF token.
A stranger — no session, another person's session, the link without its secret, another
charge's secret, a replayed link — is refused and the charge stays as it was."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from amanah.api.user_auth import session_cookie_name
from amanah.cards import charges
from amanah.core.clock import clock
from amanah.core.db import run_in_transaction
from amanah.money import Money, currency
from amanah.users import service as users

from .conftest import card_body


DECIDED: list[tuple[str, str]] = []


@charges.on_settled("challengetest")
def note(connection, charge, now) -> None:
    """The purpose's own side (a top-up would move money here): what was decided, once."""
    DECIDED.append((charge.id, charge.status.value))


def start(engine, settings, now, client, user, number: str = "4000000000003220") -> charges.Charge:
    card = client.post("/v1/me/cards", json=card_body(number), headers=user.headers).json()
    return charges.start_charge(engine, settings, user_id=user.id, source=card["id"],
                                amount=Money(2599, currency("USD")), purpose="challengetest:1", now=now,
                                return_url="http://testserver/done")


def status_of(engine, charge_id: str) -> charges.ChargeStatus:
    """The charge's status; and whatever it is, its purpose was told at most once."""
    assert len([1 for cid, _ in DECIDED if cid == charge_id]) <= 1
    return run_in_transaction(engine, lambda c: charges.get_charge(c, charge_id)).status


def path_of(url: str) -> str:
    return urlsplit(url).path


def secret_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["secret"][0]


def sign_in(client, engine, settings, user_id: str) -> str:
    """A cabinet session for the user in ``client``'s cookie jar; returns its CSRF token."""
    session = run_in_transaction(engine, lambda c: users.start_session(c, user_id, now=clock.now()))
    client.cookies.set(session_cookie_name(settings), session.session_id)
    return session.csrf_token


@pytest.fixture
def waiting(engine, settings, now, client, holder):
    charge = start(engine, settings, now, client, holder)
    assert charge.status is charges.ChargeStatus.REQUIRES_ACTION
    return charge


class TestAStrangerIsRefused:
    def test_without_session_or_secret_the_page_and_the_form_refuse(self, client, engine, waiting):
        client.cookies.clear()
        page = client.get(path_of(waiting.action_url))
        assert page.status_code == 403 and "Approve" not in page.text
        decided = client.post(path_of(waiting.action_url), data={"outcome": "approve"}, follow_redirects=False)
        assert decided.status_code == 403
        assert status_of(engine, waiting.id) is charges.ChargeStatus.REQUIRES_ACTION

    def test_a_wrong_secret_or_another_charges_secret_is_refused(self, client, engine, settings, now, holder, waiting):
        other = start(engine, settings, now, client, holder, "5200000000001096")
        client.cookies.clear()
        for secret in ("x" * 43, secret_of(other.action_url), "", "y" * 500):
            decided = client.post(path_of(waiting.action_url), data={"outcome": "fail", "secret": secret},
                                  follow_redirects=False)
            assert decided.status_code == 403, secret
            assert client.get(path_of(waiting.action_url), params={"secret": secret}).status_code == 403
        assert status_of(engine, waiting.id) is charges.ChargeStatus.REQUIRES_ACTION

    def test_another_persons_session_is_refused_even_with_its_own_csrf_token(
            self, client, engine, settings, make_holder, waiting):
        stranger = make_holder()
        csrf = sign_in(client, engine, settings, stranger.id)
        assert client.get(path_of(waiting.action_url)).status_code == 403
        decided = client.post(path_of(waiting.action_url), data={"outcome": "approve", "csrf_token": csrf},
                              follow_redirects=False)
        assert decided.status_code == 403
        assert status_of(engine, waiting.id) is charges.ChargeStatus.REQUIRES_ACTION

    def test_the_buyers_session_without_its_csrf_token_is_refused(self, client, engine, settings, holder, waiting):
        sign_in(client, engine, settings, holder.id)
        for data in ({"outcome": "approve"}, {"outcome": "approve", "csrf_token": "forged"}):
            decided = client.post(path_of(waiting.action_url), data=data, follow_redirects=False)
            assert decided.status_code == 403
        assert status_of(engine, waiting.id) is charges.ChargeStatus.REQUIRES_ACTION

    def test_a_replayed_link_is_refused_and_changes_nothing(self, client, engine, waiting):
        client.cookies.clear()
        first = client.post(waiting.action_url, data={"outcome": "fail"}, follow_redirects=False)
        assert first.status_code == 303 and first.headers["location"] == "http://testserver/done"
        again = client.post(waiting.action_url, data={"outcome": "approve"}, follow_redirects=False)
        assert again.status_code == 409
        assert status_of(engine, waiting.id) is charges.ChargeStatus.FAILED

    def test_a_charge_through_another_connectors_page_is_not_found(self, client, engine, waiting):
        wrong = waiting.action_url.replace("/sandbox_acquirer/", "/alphapay/")
        assert client.post(wrong, data={"outcome": "approve"}, follow_redirects=False).status_code == 404
        assert status_of(engine, waiting.id) is charges.ChargeStatus.REQUIRES_ACTION


class TestThePayerDecides:
    def test_the_link_alone_shows_the_form_and_approves(self, client, engine, waiting):
        client.cookies.clear()
        page = client.get(waiting.action_url)
        assert page.status_code == 200 and "Approve" in page.text
        assert f'name="secret" value="{secret_of(waiting.action_url)}"' in page.text
        decided = client.post(path_of(waiting.action_url), data={"outcome": "approve",
                                                                  "secret": secret_of(waiting.action_url)},
                              follow_redirects=False)
        assert decided.status_code == 303
        assert status_of(engine, waiting.id) is charges.ChargeStatus.SUCCEEDED

    def test_the_buyers_own_session_with_its_csrf_token_approves(self, client, engine, settings, holder, waiting):
        csrf = sign_in(client, engine, settings, holder.id)
        page = client.get(path_of(waiting.action_url))
        assert page.status_code == 200 and f'value="{csrf}"' in page.text and 'name="secret"' not in page.text
        decided = client.post(path_of(waiting.action_url), data={"outcome": "approve", "csrf_token": csrf},
                              follow_redirects=False)
        assert decided.status_code == 303
        assert status_of(engine, waiting.id) is charges.ChargeStatus.SUCCEEDED

    def test_the_page_cannot_be_framed(self, client, waiting):
        page = client.get(waiting.action_url)
        policy = page.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy and "'unsafe-inline'" not in policy
        assert page.headers["x-frame-options"] == "DENY"
