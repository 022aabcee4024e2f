"""Brute force and enumeration, scripted over HTTP against the API and the cabinet.

What the users issue promises (src/amanah/users/service/throttle.py): per account and per client
address, failed log-ins make the next attempt wait (doubling, up to 15 minutes) and, after
``LOGIN_FAILURES_BEFORE_CAPTCHA``, ask for a captcha; the account's wait is waived for an attempt
with a solved captcha (so an attacker cannot lock the owner out), the address's never; the
answers are the same whether or not the e-mail has an account. A password reset needs a solved
captcha every time and answers the same for any e-mail.

The guesser is a script: it sends attempts as fast as it can. How long each wait lasts is
not asserted (no timing in tests): after the threshold every answer must be a 429 (a wait or
a captcha demand), whatever the exact second. Each test's attacker and owner come from
addresses of their own (``X-Forwarded-For``, trusted here as behind a proxy), so counters of
different tests never meet.
"""

from __future__ import annotations

import re
import secrets

import pytest
import sqlalchemy as sa

from amanah.core import limits
from amanah.mail.models import outbox

PASSWORD = "correct horse battery staple"
GUESSES = 10
"""Wrong passwords the script tries on one account: well past every threshold."""
THRESHOLD = limits.LOGIN_FAILURES_BEFORE_CAPTCHA
THROTTLED_CODES = {"too_many_attempts", "captcha_required"}
ACCOUNTS_BEFORE_ADDRESS_LIMIT = limits.LOGIN_ACCOUNTS_BEFORE_ADDRESS_CAPTCHA


def an_address() -> str:
    return f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{1 + secrets.randbelow(254)}"


def an_email(prefix: str = "victim") -> str:
    return f"{prefix}.{secrets.token_hex(6)}@example.com"


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"password_hashing": "test", "trust_x_forwarded_for": True})


@pytest.fixture
def client(settings, engine):
    from fastapi.testclient import TestClient

    from amanah.api.app import create_app

    with TestClient(create_app(settings), base_url=settings.base_url, follow_redirects=False) as test_client:
        yield test_client


def register(client, email: str) -> None:
    response = client.post("/v1/users", json={"email": email, "password": PASSWORD, "name": "Ada Victim"},
                           headers={"X-Forwarded-For": an_address()})
    assert response.status_code == 201, response.text


def solved_captcha(client) -> dict:
    made = client.get("/v1/captcha")
    assert made.status_code == 200, made.text
    return {"captcha_id": made.json()["captcha_id"], "captcha_answer": "test"}  # AMANAH_CAPTCHA=test


def api_log_in(client, email: str, password: str, address: str, **extra):
    return client.post("/v1/auth/token", json={"email": email, "password": password, **extra},
                       headers={"X-Forwarded-For": address})


def cabinet_log_in(client, email: str, password: str, address: str, **extra):
    return client.post("/login", data={"email": email, "password": password, **extra},
                       headers={"X-Forwarded-For": address, "Origin": client.base_url.__str__().rstrip("/")})


def error_code(response) -> str | None:
    return ((response.json() or {}).get("error") or {}).get("code")


def signed_in_by_cabinet(client, response) -> bool:
    return response.status_code == 303 and any(name.endswith("session") for name in response.cookies)


class TestGuessingOneAccountThroughTheApi:
    def test_after_the_threshold_every_guess_is_throttled_and_the_right_password_alone_does_not_get_in(self, client):
        email, attacker = an_email(), an_address()
        register(client, email)
        answers = [api_log_in(client, email, f"guess {n}", attacker) for n in range(GUESSES)]
        assert [a.status_code for a in answers[:THRESHOLD]] == [401] * THRESHOLD
        assert {error_code(a) for a in answers[:THRESHOLD]} == {"invalid_credentials"}
        assert [a.status_code for a in answers[THRESHOLD:]] == [429] * (GUESSES - THRESHOLD)
        assert {error_code(a) for a in answers[THRESHOLD:]} <= THROTTLED_CODES
        assert all(a.json()["error"]["type"] == "rate_limited" for a in answers[THRESHOLD:])
        assert all("Retry-After" in a.headers for a in answers[THRESHOLD:])

        # the guesser finally hits the right password: no captcha, so no way in, from his
        # address or from any other (the account itself now asks for a captcha)
        for address in (attacker, an_address()):
            right = api_log_in(client, email, PASSWORD, address)
            assert right.status_code == 429 and error_code(right) in THROTTLED_CODES, right.text
            assert "access_token" not in right.text

    def test_a_wrong_or_reused_captcha_does_not_lift_the_throttle(self, client):
        email, attacker = an_email(), an_address()
        register(client, email)
        for n in range(THRESHOLD):
            api_log_in(client, email, f"guess {n}", attacker)
        owner = an_address()
        wrong = api_log_in(client, email, PASSWORD, owner, captcha_id=solved_captcha(client)["captcha_id"],
                           captcha_answer="nope")
        assert wrong.status_code == 400 and error_code(wrong) == "captcha_invalid"
        captcha = solved_captcha(client)
        first = api_log_in(client, email, "still guessing", owner, **captcha)
        assert first.status_code == 401  # judged (the captcha was right), and wrong
        reused = api_log_in(client, email, PASSWORD, owner, **captcha)
        assert reused.status_code == 400 and error_code(reused) == "captcha_invalid"

    def test_the_owner_with_a_captcha_gets_in_from_elsewhere_but_the_guessers_address_stays_slowed(self, client):
        email, attacker = an_email(), an_address()
        register(client, email)
        for n in range(GUESSES):
            api_log_in(client, email, f"guess {n}", attacker)
        # the attacker solves a captcha too: his address's wait is never waived
        from_attacker = api_log_in(client, email, PASSWORD, attacker, **solved_captcha(client))
        assert from_attacker.status_code == 429 and error_code(from_attacker) == "too_many_attempts"
        # the owner, elsewhere, with a solved captcha: in (no long lock-out of the real user)
        owner = api_log_in(client, email, PASSWORD, an_address(), **solved_captcha(client))
        assert owner.status_code == 200, owner.text
        assert owner.json()["access_token"]


class TestGuessingOneAccountThroughTheCabinet:
    def test_after_the_threshold_the_form_asks_for_a_captcha_and_the_right_password_alone_fails(self, client):
        email, attacker = an_email(), an_address()
        register(client, email)
        answers = [cabinet_log_in(client, email, f"guess {n}", attacker) for n in range(GUESSES)]
        assert [a.status_code for a in answers[:THRESHOLD]] == [401] * THRESHOLD
        assert [a.status_code for a in answers[THRESHOLD:]] == [429] * (GUESSES - THRESHOLD)
        # the page that refuses shows a captcha to solve
        assert all('name="captcha_id"' in a.text for a in answers[THRESHOLD:])
        assert not any(signed_in_by_cabinet(client, a) for a in answers)
        for address in (attacker, an_address()):
            right = cabinet_log_in(client, email, PASSWORD, address)
            assert right.status_code == 429 and not signed_in_by_cabinet(client, right)
        owner = cabinet_log_in(client, email, PASSWORD, an_address(), **solved_captcha(client))
        assert signed_in_by_cabinet(client, owner), owner.status_code

    def test_the_api_and_the_cabinet_count_on_the_same_counters(self, client):
        email, attacker = an_email(), an_address()
        register(client, email)
        for n in range(THRESHOLD):
            (api_log_in if n % 2 else cabinet_log_in)(client, email, f"guess {n}", attacker)
        assert api_log_in(client, email, "one more", attacker).status_code == 429
        assert cabinet_log_in(client, email, "one more", an_address()).status_code == 429


@pytest.mark.parametrize("locale", ["en", "ru", "id", "zh"])
def test_the_cabinets_throttle_message_is_in_the_persons_language_and_names_no_api_path(client, locale):
    email, attacker = an_email(), an_address()
    register(client, email)
    client.cookies.set("amanah_lang", locale)
    answers = [cabinet_log_in(client, email, f"guess {n}", attacker) for n in range(THRESHOLD + 2)]
    elsewhere = cabinet_log_in(client, email, "guess", an_address())  # captcha_required, no wait
    client.cookies.clear()
    for page in answers[THRESHOLD:] + [elsewhere]:
        assert page.status_code == 429
        notice = re.search(r'id="form-error">(.*?)</div>', page.text, re.S)
        assert notice, page.text
        assert "/v1/" not in page.text and "captcha_id" not in notice.group(1) and "GET " not in page.text
        if locale != "en":
            assert "Too many" not in notice.group(1), notice.group(1)


class TestOneAccountsFailuresDoNotLockOutItsNeighbours:
    """Issue 27: one burst of wrong passwords against one account made every log-in from that
    address (an office, a family's router, a mobile carrier's NAT) ask for a captcha."""

    def test_a_burst_at_one_account_leaves_another_account_at_that_address_alone(self, client):
        guessed, neighbour, shared = an_email(), an_email("neighbour"), an_address()
        register(client, guessed)
        register(client, neighbour)
        for n in range(GUESSES):
            api_log_in(client, guessed, f"guess {n}", shared)
        assert api_log_in(client, neighbour, PASSWORD, shared).status_code == 200
        signed_in = cabinet_log_in(client, neighbour, PASSWORD, shared)
        assert signed_in_by_cabinet(client, signed_in), signed_in.status_code
        # and a neighbour's own typo is judged as a first one, not as the guesser's tenth
        assert error_code(api_log_in(client, neighbour, "typo", shared)) == "invalid_credentials"

    def test_failures_at_a_few_accounts_do_not_yet_make_the_address_suspect(self, client):
        shared = an_address()
        for _ in range(ACCOUNTS_BEFORE_ADDRESS_LIMIT - 1):
            email = an_email("colleague")
            register(client, email)
            assert api_log_in(client, email, "a typo", shared).status_code == 401
        newcomer = an_email("newcomer")
        register(client, newcomer)
        assert api_log_in(client, newcomer, PASSWORD, shared).status_code == 200


class TestASpreadAttackFromOneAddress:
    """One guess at each of many accounts: no account's counter reaches its threshold; the
    address's, which counts the accounts failed from it, does, and asks for a captcha."""

    def test_the_address_is_throttled_though_each_account_saw_one_guess(self, client):
        spread = ACCOUNTS_BEFORE_ADDRESS_LIMIT + 3
        accounts = [an_email("spread") for _ in range(spread)]
        for email in accounts:
            register(client, email)
        attacker = an_address()
        answers = [(api_log_in if n % 2 == 0 else cabinet_log_in)(client, email, "Summer2024!", attacker)
                   for n, email in enumerate(accounts)]
        limit = ACCOUNTS_BEFORE_ADDRESS_LIMIT
        assert [a.status_code for a in answers] == [401] * limit + [429] * (spread - limit)
        # even the right password of a fresh account, from that address, without a captcha
        assert api_log_in(client, accounts[-1], PASSWORD, attacker).status_code == 429
        # ...but a solved captcha waives the address's limit
        assert api_log_in(client, accounts[-1], PASSWORD, attacker, **solved_captcha(client)).status_code == 200
        # the accounts themselves were not locked: their owners, elsewhere, need no captcha
        for email in (accounts[0], accounts[-2]):
            assert api_log_in(client, email, PASSWORD, an_address()).status_code == 200

    def test_guessing_at_unknown_e_mails_counts_against_the_address_too(self, client):
        attacker, spread, limit = an_address(), ACCOUNTS_BEFORE_ADDRESS_LIMIT + 3, ACCOUNTS_BEFORE_ADDRESS_LIMIT
        answers = [api_log_in(client, an_email("nobody"), "password1", attacker) for _ in range(spread)]
        assert [a.status_code for a in answers] == [401] * limit + [429] * (spread - limit)
        assert {error_code(a) for a in answers[limit:]} == {"captcha_required"}


def _normalised(response, email: str) -> tuple:
    headers = {name for name in response.headers if name not in {"date", "x-request-id", "content-length"}}
    text = response.text.replace(email, "EMAIL")
    text = re.sub(r"try again in \d+ s", "try again in N s", text)
    return response.status_code, headers, text


class TestAnswersDoNotRevealWhetherAnAccountExists:
    def test_log_in_through_the_api_answers_the_same_for_an_unknown_e_mail(self, client):
        known, unknown = an_email(), an_email()
        register(client, known)
        sequences = []
        for email in (known, unknown):
            address = an_address()
            sequences.append([_normalised(api_log_in(client, email, f"guess {n}", address), email)
                              for n in range(THRESHOLD + 3)])
        assert sequences[0] == sequences[1]
        assert sequences[0][0][0] == 401

    def test_log_in_through_the_cabinet_answers_the_same_for_an_unknown_e_mail(self, client):
        known, unknown = an_email(), an_email()
        register(client, known)
        sequences = []
        for email in (known, unknown):
            address = an_address()
            answers = [cabinet_log_in(client, email, f"guess {n}", address) for n in range(THRESHOLD + 2)]
            # the pages after the threshold hold a captcha of their own (id and picture differ)
            sequences.append([(a.status_code, re.sub(r'(captcha_id" value="|data:image/png;base64,)[^"]*', "",
                                                      _normalised(a, email)[2])) for a in answers])
        assert sequences[0] == sequences[1]

    def test_a_reset_request_answers_the_same_for_an_unknown_e_mail(self, client, engine):
        known, unknown = an_email(), an_email()
        register(client, known)
        api = [_normalised(client.post("/v1/password-resets", json={"email": email, **solved_captcha(client)}),
                           email) for email in (known, unknown)]
        assert api[0] == api[1] and api[0][0] == 202
        cabinet = []
        for email in (known, unknown):
            response = client.post("/forgot-password", data={"email": email, **solved_captcha(client)},
                                   headers={"Origin": str(client.base_url).rstrip("/")})
            cabinet.append(_normalised(response, email))
        assert cabinet[0] == cabinet[1] and cabinet[0][0] == 200
        with engine.connect() as connection:
            sent = connection.execute(sa.select(outbox.c.to_address).where(
                outbox.c.to_address.in_([known, unknown]), outbox.c.template == "password_reset")).scalars().all()
        assert sent == [known, known]  # a link only where there is an account, twice

    def test_scripted_reset_requests_without_a_solved_captcha_send_nothing(self, client, engine):
        known = an_email()
        register(client, known)
        refused = [
            client.post("/v1/password-resets", json={"email": known}),
            client.post("/v1/password-resets", json={"email": known, "captcha_id": "cap_nope", "captcha_answer": "test"}),
            client.post("/v1/password-resets", json={"email": known, **solved_captcha(client), "captcha_answer": "x"}),
        ]
        used = solved_captcha(client)
        assert client.post("/v1/password-resets", json={"email": known, **used}).status_code == 202
        refused += [client.post("/v1/password-resets", json={"email": known, **used}) for _ in range(GUESSES)]
        assert all(r.status_code in {400, 422} for r in refused), [r.status_code for r in refused]
        assert all(r.json()["error"]["code"] in {"captcha_invalid", "invalid_request"} for r in refused)
        with engine.connect() as connection:
            sent = connection.execute(sa.select(sa.func.count()).select_from(outbox).where(
                outbox.c.to_address == known, outbox.c.template == "password_reset")).scalar()
        assert sent == 1

    def test_guessed_reset_links_are_all_refused_alike(self, client):
        answers = [client.post("/v1/password-resets/confirm", json={"token": token, "new_password": PASSWORD})
                   for token in ("", "x", secrets.token_urlsafe(32), "prt_" + secrets.token_urlsafe(32))]
        assert {a.status_code for a in answers} <= {400, 422}
        bodies = {(a.status_code, a.json()["error"]["code"]) for a in answers if a.status_code == 400}
        assert len(bodies) == 1, bodies
