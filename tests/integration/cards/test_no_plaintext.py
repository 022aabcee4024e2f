"""Nothing — the database, the logs, the API's answers — ever holds a full card number or a
CVC. The test binds, charges, challenges, deletes and re-keys cards, then reads everything."""

from __future__ import annotations

import logging
from pathlib import Path


from amanah.cards import charges, service as cards
from amanah.money import Money, currency

from tests.database_scan import every_value

from .conftest import card_body
from .test_charges import record_settlement  # noqa: F401  (registers the "cardtest" purpose)

NUMBERS = ["4242424242424242", "5555555555554444", "2200000000000004", "6200000000000005",
           "4000000000003220", "4000000000000002", "4000000000000127"]
CVC = "987"


def test_no_card_number_or_cvc_is_kept_anywhere(client, make_holder, engine, settings, now, caplog, database_url):
    caplog.set_level(logging.DEBUG)
    responses = []
    for number in NUMBERS:
        person = make_holder()
        response = client.post("/v1/me/cards", json=card_body(" ".join([number[:4], number[4:8], number[8:12], number[12:]])),
                               headers=person.headers)
        responses.append(response)
        if response.status_code != 201:
            continue
        card = response.json()
        responses.append(client.get("/v1/me/cards", headers=person.headers))
        charge = charges.start_charge(engine, settings, user_id=person.id, source=card["id"],
                                      amount=Money(1000, currency("EUR")), purpose="cardtest:scan", now=now)
        if charge.action_url:
            responses.append(client.get(charge.action_url))
            responses.append(client.post(charge.action_url, data={"outcome": "approve"}))
        if number.startswith("5555"):
            responses.append(client.delete(f"/v1/me/cards/{card['id']}", headers=person.headers))
    cards.rotate_key(engine, settings)

    texts = [r.text + str(r.headers) for r in responses] + [caplog.text]
    for number in NUMBERS:
        for text in texts:
            assert number not in text
        for table, column, value, _text in every_value(engine):
            assert number not in value, f"{table}.{column} holds a card number"
    # A stored CVC would be a value of its own (ids, timestamps and hashes contain "987" by chance).
    for table, column, value, text in every_value(engine):
        assert not text or value.strip() != CVC, f"{table}.{column} holds the CVC"
        if table == "cards" and column in ("brand", "last4", "holder_name"):
            assert CVC not in value, f"cards.{column} holds the CVC"
    if database_url.startswith("sqlite"):
        raw = b"".join(p.read_bytes() for p in Path(database_url.removeprefix("sqlite:///")).parent.glob("amanah.db*"))
        for number in NUMBERS:
            assert number.encode() not in raw, "the database file holds a card number in plain text"
