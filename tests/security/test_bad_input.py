"""Bad input at the doors where money moves: a top-up, a withdrawal, opening a trade, paying,
refunding. Wrong types, zero, negative and huge amounts (past ``AMOUNT_MAX_MINOR`` and past 64
bits), unknown currencies, Unicode oddities (NUL, a right-to-left override, overlong strings,
emoji where an id or a reference goes), truncated JSON, the wrong content type: each must be a
4xx in the API's error shape, and nothing may be half-written — the ledger's totals and
transfer count, and the rows of trades, refunds, top-ups and withdrawals, are the same after
the request as before.

(What other files already cover: NUL characters and oversized bodies at the door,
tests/integration/test_input_guard.py; the generic schema-driven negative cases,
tests/fuzz/test_api_fuzz.py. This file is the hand-written list for money.)
"""

from __future__ import annotations

import json
import secrets

import pytest
import sqlalchemy as sa

from amanah.core import limits
from tests.integration.trades.conftest import make_market

AMOUNT_MAX = limits.AMOUNT_MAX_MINOR
TABLES = ("trades", "refunds", "topups", "withdrawals", "ledger_transfers")

WRONG_AMOUNTS = {
    "string": "1000",
    "float": 1000.5,
    "whole float": 1000.0,
    "exponent": 1e3,
    "true": True,
    "null": None,
    "list": [1000],
    "object": {"value": 1000},
    "zero": 0,
    "negative": -1000,
    "past the limit": AMOUNT_MAX + 1,
    "past 63 bits": 2**63,
    "past 64 bits": 2**64 + 1,
    "a hundred digits": 10**100,
    "negative past 64 bits": -(2**64),
}
WRONG_CURRENCIES = {
    "unknown": "XXX",
    "made up": "ABC",
    "two letters": "US",
    "four letters": "USDD",
    "empty": "",
    "number": 840,
    "null": None,
    "rtl override": "U\u202eSD",
    "emoji": "\U0001f4b5",
    "cyrillic look-alike": "U\u0405D",
}
ODD_STRINGS = {
    "nul": "ref\u0000x",
    "rtl override": "order-\u202e1234",
    "overlong": "x" * 100_000,
    "emoji": "order-\U0001f4a5",
    "lone surrogate escape": "\\ud800",
    "zero-width joiner only": "\u200d",
}


@pytest.fixture(scope="module")
def shop(client_module, engine):
    """A platform with a seller, a buyer with a card and money, an open and a paid trade."""
    client = client_module
    market = make_market(client, engine, name=f"Bad Input Bazaar {secrets.token_hex(3)}")
    paid, buyer = market.paid_trade(5_000)
    buyer_id = paid["buyer"]["user_id"]
    market.fund(buyer_id, 1_000_000)
    card = client.post("/v1/me/cards", json={"number": "4242424242424242", "exp_month": 12, "exp_year": 2031,
                                             "cvc": "123", "holder_name": "Dewi Lestari"}, headers=buyer)
    assert card.status_code == 201, card.text
    open_trade = client.post("/v1/trades", json={
        "out_trade_no": f"bad-{secrets.token_hex(6)}", "seller_id": market.seller["id"],
        "buyer": {"platform_user_id": paid["buyer"]["platform_user_id"],
                  "email": client.get("/v1/me", headers=buyer).json()["email"]},
        "amount": 2_000, "currency": "USD", "subject": "Green teapot"}, headers=market.as_platform)
    assert open_trade.status_code == 201, open_trade.text
    return {"client": client, "market": market, "buyer": buyer, "card_id": card.json()["id"],
            "paid_trade": paid["id"], "open_trade": open_trade.json()["id"]}


@pytest.fixture(scope="module")
def client_module(engine, tmp_path_factory, vault_key_file, database_url):
    from fastapi.testclient import TestClient

    from amanah.api.app import create_app
    from amanah.core.config import Settings

    settings = Settings(env="test", database_url=database_url, data_dir=tmp_path_factory.mktemp("bad-input"),
                        base_url="http://testserver", captcha="test", vault_key_file=vault_key_file,
                        connector_timeout_s=0.05)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def endpoints(shop) -> dict[str, tuple[str, dict, dict]]:
    """name → (path, a valid body, headers)."""
    market = shop["market"]
    return {
        "top-up": ("/v1/me/topups", {"amount": 1_000, "currency": "USD", "card_id": shop["card_id"]}, shop["buyer"]),
        "withdraw": ("/v1/me/withdrawals", {"amount": 1_000, "currency": "USD", "card_id": shop["card_id"]},
                     shop["buyer"]),
        "create trade": ("/v1/trades", {
            "out_trade_no": f"bad-{secrets.token_hex(6)}", "seller_id": market.seller["id"],
            "buyer": {"platform_user_id": "bad-input-buyer", "email": "bad.input.buyer@example.com"},
            "amount": 1_000, "currency": "USD", "subject": "Red teapot"}, market.as_platform),
        "pay": (f"/v1/trades/{shop['open_trade']}/pay", {"source": "balance"}, shop["buyer"]),
        "refund": (f"/v1/trades/{shop['paid_trade']}/refunds", {"amount": 100, "reason": "dented"},
                   market.as_platform),
    }


# --- what counts as "nothing changed" -----------------------------------------------------------

def snapshot(shop, engine) -> dict:
    verified = shop["client"].get("/v1/admin/ledger/verify", headers=shop["market"].as_operator)
    assert verified.status_code == 200, verified.text
    report = verified.json()
    assert report["ok"] is True, report["violations"]
    with engine.connect() as connection:
        rows = {table: connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar() for table in TABLES}
    return {"transfers": report["checked_transfers"], "totals": report["currencies"], "rows": rows}


def assert_refused_and_nothing_written(shop, engine, send) -> dict:
    before = snapshot(shop, engine)
    response = send()
    after = snapshot(shop, engine)
    assert 400 <= response.status_code < 500, f"{response.status_code} {response.text[:500]}"
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"type", "code", "message", "param"}, body
    assert body["error"]["code"] and body["error"]["message"], body
    assert after == before
    return body["error"]


def post(shop, path: str, headers: dict, *, json_body=None, content: bytes | str | None = None,
         content_type: str = "application/json"):
    headers = {**headers, "Idempotency-Key": f"bad-{secrets.token_hex(8)}", "content-type": content_type}
    if json_body is not None:
        content = json.dumps(json_body)
    return shop["client"].post(path, content=content, headers=headers)


ENDPOINTS = ("top-up", "withdraw", "create trade", "pay", "refund")
WITH_AMOUNT = ("top-up", "withdraw", "create trade", "refund")
WITH_CURRENCY = ("top-up", "withdraw", "create trade")
STRING_FIELDS = {"top-up": "card_id", "withdraw": "card_id", "create trade": "out_trade_no", "pay": "source",
                 "refund": "reason"}
"""The string each endpoint takes that names or refers to something (an id or a reference), or
for a refund its free-text reason."""
FINE_IN_FREE_TEXT = {"emoji", "zero-width joiner only"}
"""A refund's reason is words a person wrote: emoji are words too. Controls and bidirectional
overrides are not (they make the text show other than it reads in the back office)."""
ODD_CASES = [(endpoint, odd) for endpoint in ENDPOINTS for odd in ODD_STRINGS
             if not (endpoint == "refund" and odd in FINE_IN_FREE_TEXT)]


@pytest.mark.parametrize("wrong", list(WRONG_AMOUNTS), ids=str)
@pytest.mark.parametrize("endpoint", WITH_AMOUNT)
def test_a_wrong_amount_is_refused_and_moves_nothing(shop, engine, endpoint, wrong):
    path, body, headers = endpoints(shop)[endpoint]
    body["amount"] = WRONG_AMOUNTS[wrong]
    error = assert_refused_and_nothing_written(shop, engine, lambda: post(shop, path, headers, json_body=body))
    assert error["param"] in {"amount", None} or "amount" in str(error["param"]), error


@pytest.mark.parametrize("wrong", list(WRONG_CURRENCIES), ids=str)
@pytest.mark.parametrize("endpoint", WITH_CURRENCY)
def test_a_wrong_currency_is_refused_and_moves_nothing(shop, engine, endpoint, wrong):
    path, body, headers = endpoints(shop)[endpoint]
    body["currency"] = WRONG_CURRENCIES[wrong]
    assert_refused_and_nothing_written(shop, engine, lambda: post(shop, path, headers, json_body=body))


@pytest.mark.parametrize("wrong", ["XXX", "usd ", 840, None, "\u202eUSD"], ids=str)
def test_paying_in_a_wrong_currency_is_refused_and_moves_nothing(shop, engine, wrong):
    path, _body, headers = endpoints(shop)["pay"]
    body = {"source": "card", "card_id": shop["card_id"], "pay_currency": wrong}
    assert_refused_and_nothing_written(shop, engine, lambda: post(shop, path, headers, json_body=body))


@pytest.mark.parametrize(("endpoint", "odd"), ODD_CASES, ids=lambda value: str(value))
def test_an_odd_string_where_an_id_or_a_reference_goes_is_refused_and_moves_nothing(shop, engine, endpoint, odd):
    path, body, headers = endpoints(shop)[endpoint]
    field = STRING_FIELDS[endpoint]
    if odd == "lone surrogate escape":  # not expressible as a Python str: written into the JSON text
        text = json.dumps({**body, field: "PLACEHOLDER"}).replace("PLACEHOLDER", ODD_STRINGS[odd])
        send = lambda: post(shop, path, headers, content=text)  # noqa: E731
    else:
        body[field] = ODD_STRINGS[odd]
        send = lambda: post(shop, path, headers, json_body=body)  # noqa: E731
    assert_refused_and_nothing_written(shop, engine, send)


BROKEN_BODIES = {
    "truncated": lambda valid: valid[: len(valid) // 2],
    "truncated by one": lambda valid: valid[:-1],
    "empty": lambda valid: "",
    "null": lambda valid: "null",
    "a list": lambda valid: "[" + valid + "]",
    "a string": lambda valid: json.dumps(valid),
    "NaN amount": lambda valid: valid.replace('"amount": ', '"amount": NaN, "x": ', 1) if '"amount"' in valid
    else valid.replace("{", '{"amount": NaN, ', 1),
    "Infinity amount": lambda valid: valid.replace("{", '{"amount": Infinity, ', 1),
    "not UTF-8": lambda valid: valid.encode("utf-8").replace(b"{", b"{\"x\": \"\xff\xfe\", ", 1),
    "trailing garbage": lambda valid: valid + "}{",
    "deeply nested": lambda valid: "[" * 10_000 + "]" * 10_000,
}


@pytest.mark.parametrize("broken", list(BROKEN_BODIES), ids=str)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_broken_json_is_refused_and_moves_nothing(shop, engine, endpoint, broken):
    path, body, headers = endpoints(shop)[endpoint]
    content = BROKEN_BODIES[broken](json.dumps(body))
    assert_refused_and_nothing_written(shop, engine, lambda: post(shop, path, headers, content=content))


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
                                          "application/xml", "application/json; charset=latin-1"], ids=str)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_the_wrong_content_type_is_refused_and_moves_nothing(shop, engine, endpoint, content_type):
    path, body, headers = endpoints(shop)[endpoint]
    if content_type == "application/x-www-form-urlencoded":
        content = "&".join(f"{key}={value}" for key, value in body.items() if not isinstance(value, dict))
    elif content_type == "application/json; charset=latin-1":
        # a latin-1 body that is not UTF-8: the reason or the reference holds an "é"
        body[STRING_FIELDS[endpoint]] = "caf\u00e9"
        content = json.dumps(body, ensure_ascii=False).encode("latin-1")
    else:
        content = json.dumps(body)
    assert_refused_and_nothing_written(shop, engine, lambda: post(shop, path, headers, content=content,
                                                                  content_type=content_type))


def test_the_valid_bodies_do_go_through(shop, engine):
    """The other tests' bodies differ from these in one thing only: these must work, so that a
    refusal there is the bad input's doing."""
    before = snapshot(shop, engine)
    for name, (path, body, headers) in endpoints(shop).items():
        response = post(shop, path, headers, json_body=body)
        assert response.status_code in {200, 201}, f"{name}: {response.status_code} {response.text}"
    after = snapshot(shop, engine)
    assert after["transfers"] > before["transfers"]
