"""After the flows that handle secrets — register, log in (token and session), bind a card, pay
with it, add a webhook endpoint, reset the password, log out — no card number, CVC, password,
raw token or key (``ut_``, ``sk_``, ``ak_``, session ids, reset-link tokens) is in any database
column, any log record, or any API answer other than the one that hands it out.

Extends tests/integration/cards/test_no_plaintext.py (cards only) to every kind of secret."""

from __future__ import annotations

import logging
import re
import secrets

import sqlalchemy as sa

from amanah.cards.brands import luhn_valid
from amanah.core.clock import clock
from amanah.core.db import run_in_transaction
from amanah.operators import service as operators
from amanah.platforms import service as platforms
from tests.database_scan import every_value

CARD_NUMBER = "4242424242424242"
CVC = "739"
PASSWORD = "Unusual-Passw0rd-for-hygiene!"
NEW_PASSWORD = "Another-Unusual-Passw0rd-2!"
LUHN_CANDIDATE = re.compile(r"(?<!\d)\d{13,19}(?!\d)")


def run_the_flows(client, engine) -> tuple[dict[str, str], list]:
    """Returns the secrets handed out (name → value) and every (request label, response)."""
    answers = []

    def call(label, method, path, **kwargs):
        response = client.request(method, path, **kwargs)
        answers.append((label, response))
        assert response.status_code < 300, f"{label}: {response.status_code} {response.text}"
        return response

    def keys(connection):
        now = clock.now()
        _platform, platform_key = platforms.create_platform(connection, name="Hygiene Shop", now=now)
        _operator, operator_key = operators.create_key(connection, label="hygiene", now=now)
        return platform_key, operator_key

    platform_key, operator_key = run_in_transaction(engine, keys)
    as_platform = {"Authorization": f"Bearer {platform_key}"}
    as_operator = {"Authorization": f"Bearer {operator_key}"}
    email = f"hygiene.{secrets.token_hex(5)}@example.com"
    call("register", "POST", "/v1/users", json={"email": email, "password": PASSWORD, "name": "Hygiene"})
    token = call("token", "POST", "/v1/auth/token", json={"email": email, "password": PASSWORD}).json()["access_token"]
    session = call("session", "POST", "/v1/auth/sessions", json={"email": email, "password": PASSWORD})
    session_id = next(iter(session.cookies.values()))
    client.cookies.clear()
    buyer = {"Authorization": f"Bearer {token}"}
    card = call("bind card", "POST", "/v1/me/cards", headers=buyer | {"Idempotency-Key": "hygiene-card"}, json={
        "number": " ".join(CARD_NUMBER[i:i + 4] for i in range(0, 16, 4)), "exp_month": 11, "exp_year": 2033,
        "cvc": CVC, "holder_name": "Hygiene Buyer"}).json()
    seller = call("seller", "POST", "/v1/sellers", headers=as_platform, json={
        "platform_seller_id": "hyg-s", "email": f"s.{secrets.token_hex(4)}@example.com", "name": "S"}).json()
    endpoint = call("webhook endpoint", "POST", "/v1/webhook_endpoints", headers=as_platform,
                    json={"url": "http://127.0.0.1:9/hook", "events": ["trade.held"]}).json()
    trade = call("trade", "POST", "/v1/trades", headers=as_platform, json={
        "out_trade_no": f"hyg-{secrets.token_hex(3)}", "seller_id": seller["id"], "amount": 1500, "currency": "USD",
        "subject": "Soap", "buyer": {"platform_user_id": "hyg-b", "email": email}}).json()
    call("pay by card", "POST", f"/v1/trades/{trade['id']}/pay", headers=buyer,
         json={"source": card["id"]})
    call("trade read", "GET", f"/v1/trades/{trade['id']}", headers=buyer)
    captcha = call("captcha", "GET", "/v1/captcha").json()
    call("reset", "POST", "/v1/password-resets", json={"email": email, "captcha_id": captcha["captcha_id"],
                                                        "captcha_answer": "test"})
    call("send mail", "POST", "/v1/test/clock/advance", headers=as_operator, json={"seconds": 1})
    mail = call("outbox", "GET", "/v1/test/outbox/mail", headers=as_operator).json()["data"]
    reset_token = re.search(r"reset-password\?token=([A-Za-z0-9_\-]+)",
                            next(m["text"] for m in mail if m["to"] == email and "reset-password" in m["text"])).group(1)
    answers.pop()  # the test-mode outbox shows sent mail, links included, on purpose
    call("confirm reset", "POST", "/v1/password-resets/confirm", json={"token": reset_token,
                                                                       "new_password": NEW_PASSWORD})
    token2 = call("token again", "POST", "/v1/auth/token",
                  json={"email": email, "password": NEW_PASSWORD}).json()["access_token"]
    call("log out", "POST", "/v1/auth/logout", headers={"Authorization": f"Bearer {token2}"})
    found = {"card number": CARD_NUMBER, "CVC": CVC, "password": PASSWORD, "new password": NEW_PASSWORD,
             "user token": token, "second user token": token2, "session id": session_id,
             "platform key": platform_key, "operator key": operator_key, "reset token": reset_token}
    assert endpoint["secret"].startswith("whsec_")  # kept (encrypted or not) to sign: not scanned here
    return found, answers


HANDED_OUT = {"token": {"user token"}, "token again": {"second user token"}, "session": {"session id"}}


def holds(text: str, name: str, secret: str) -> bool:
    """Whether ``text`` holds the secret. Three digits turn up inside ids, tokens, timestamps and
    lengths by chance, so a CVC counts only as a value of its own: a "cvc" field, or "739"."""
    if name == "CVC":
        return bool(re.search(rf'cvc\W{{0,4}}{CVC}(?!\d)', text, re.IGNORECASE) or f'"{CVC}"' in text)
    return secret in text


def scan(engine, found: dict, answers: list, log_text: str) -> list[str]:
    leaks = []
    for table, column, value, is_text in every_value(engine):
        for name, secret in found.items():
            if name == "CVC":
                # Three digits turn up inside ids, hex and e-mail addresses by chance: a CVC
                # would stand alone (a column of its own, or a JSON field).
                if is_text and (value == CVC or re.search(rf'"cvc"\s*:\s*"?{CVC}', value)):
                    leaks.append(f"database {table}.{column} holds the CVC")
                continue
            if secret in value:
                leaks.append(f"database {table}.{column} holds the {name}")
        for candidate in LUHN_CANDIDATE.findall(value):
            if luhn_valid(candidate) and candidate == CARD_NUMBER:
                leaks.append(f"database {table}.{column} holds a card number")
    for label, response in answers:
        text = response.text + str(response.headers)
        for name, secret in found.items():
            if holds(text, name, secret) and name not in HANDED_OUT.get(label, set()):
                leaks.append(f"the answer to {label!r} holds the {name}")
    for name, secret in found.items():
        if holds(log_text, name, secret):
            leaks.append(f"the log holds the {name}")
    return leaks


MAIL_LINK_LEAK = "the mail outbox keeps the reset link's token"


def test_no_secret_is_in_the_database_the_logs_or_other_answers(client, engine, caplog):
    caplog.set_level(logging.DEBUG)
    found, answers = run_the_flows(client, engine)
    leaks = [leak for leak in scan(engine, found, answers, caplog.text)
             if not (leak.startswith("database mail_outbox.") and leak.endswith("reset token"))]
    assert not leaks, "\n".join(leaks)
    assert caplog.records, "nothing was logged: the scan of the log proves nothing"


def test_sent_mail_keeps_no_link_token_in_its_parameters(client, engine, caplog):
    """Once sent, a mail's parameters (which carry live link tokens) are forgotten; in test mode
    only its rendered bodies stay, for GET /v1/test/outbox/mail."""
    found, answers = run_the_flows(client, engine)
    leaks = [leak for leak in scan(engine, found, answers, caplog.text)
             if leak.startswith("database mail_outbox.") and "_body" not in leak]
    assert not leaks, "\n".join(leaks)


def test_outside_test_mode_a_sent_mail_keeps_neither_its_token_nor_its_bodies(engine, settings, now):
    from amanah.mail import enqueue
    from amanah.mail.jobs import deliver_due
    from amanah.mail.models import outbox

    token = "usr_reset_" + secrets.token_urlsafe(24)
    development = settings.model_copy(update={"env": "development", "captcha": "image", "password_hashing": "owasp"})

    def queue(connection):
        enqueue(connection, to="scrub@example.com", template="password_reset", locale="en",
                params={"name": "Scrub", "token": token}, now=now)

    run_in_transaction(engine, queue)
    while deliver_due(engine, development, now):
        pass
    with engine.connect() as connection:
        rows = connection.execute(sa.select(outbox).where(outbox.c.to_address == "scrub@example.com")).all()
    assert rows and all(row.status == "sent" for row in rows)
    for row in rows:
        assert token not in str(row.params) and row.text_body is None and row.html_body is None
