"""Payment history: every movement once, signed from the user's side; filters, pages, CSV."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from amanah.core.clock import clock


def _buy(market, _unused, amount: int = 2599, subject: str = "Blue teapot") -> dict:
    trade = market.open_trade(amount, fee={"bps": 250}, subject=subject)
    buyer = market.token_for(trade["buyer"]["user_id"])
    card = market.client.post("/v1/me/cards", headers=buyer, json={
        "number": "4242424242424242", "exp_month": 12, "exp_year": 2031, "cvc": "123", "holder_name": "Ana"}).json()["id"]
    assert market.client.post("/v1/me/topups", headers=buyer,
                              json={"amount": 5000, "currency": "USD", "card_id": card}).json()["status"] == "succeeded"
    paid = market.client.post(f"/v1/trades/{trade['id']}/pay", json={"source": "balance"}, headers=buyer)
    assert paid.status_code == 200, paid.text
    return {"trade": trade, "headers": buyer, "card": card, "user_id": trade["buyer"]["user_id"]}


def _history(market, headers, **params) -> list[dict]:
    response = market.client.get("/v1/me/history", headers=headers, params={"limit": 100, **params})
    assert response.status_code == 200, response.text
    return response.json()["data"]


def _balance(market, headers, currency="USD") -> dict:
    data = market.client.get("/v1/me/balances", headers=headers).json()["data"]
    return next(b for b in data if b["currency"] == currency)


class TestEveryMovementOnceWithItsSign:
    def test_the_buyers_and_the_sellers_history_of_one_trade(self, market):
        bought = _buy(market, None)
        trade, buyer = bought["trade"], bought["headers"]
        seller = market.token_for(market.seller["user_id"])
        assert market.client.post(f"/v1/trades/{trade['id']}/refunds", json={"amount": 599},
                                  headers=market.as_platform).status_code == 201
        assert market.client.post(f"/v1/trades/{trade['id']}/confirm", headers=buyer).json()["status"] == "completed"

        lines = _history(market, buyer)
        assert [(x["type"], x["amount"], x["held"], x["status"]) for x in lines] == [
            ("escrow_release", 0, -2000, "completed"),
            ("payment", -2000, 2000, "completed"),
            ("refund", 2599, -2599, "completed"),
            ("payment", -2599, 2599, "returned"),
            ("topup", 5000, 0, "completed"),
        ]
        assert len({x["id"] for x in lines}) == len(lines)
        assert sum(x["amount"] for x in lines) == _balance(market, buyer)["available"] == 3000
        paid = lines[1]
        assert paid["counterparty"] == "Teapot Workshop" and paid["marketplace"] == "Teapot Bazaar"
        assert paid["subject"] == "Blue teapot" and paid["trade_id"] == trade["id"]
        assert paid["trade_url"] == f"http://testserver/v1/trades/{trade['id']}"
        assert lines[-1]["counterparty"] == "Visa •••• 4242" and lines[-1]["trade_id"] is None

        mine = [x for x in _history(market, seller) if x["trade_id"] == trade["id"]]
        assert [(x["type"], x["amount"], x["held"], x["status"]) for x in mine] == [
            ("fee", -50, 0, "completed"),
            ("escrow_release", 2000, -2000, "completed"),
            ("escrow_hold", 0, 2000, "completed"),
            ("refund", 0, -2599, "completed"),
            ("escrow_hold", 0, 2599, "returned"),
        ]
        assert {x["counterparty"] for x in mine} == {"Teapot Bazaar"}
        market.verify()

    def test_money_in_escrow_shows_as_held_on_both_sides(self, market):
        bought = _buy(market, None, 1500)
        assert _balance(market, bought["headers"]) == {"currency": "USD", "available": 3500, "held": 1500}
        line = _history(market, bought["headers"], type="payment")[0]
        assert (line["amount"], line["held"], line["status"]) == (-1500, 1500, "pending")

    def test_a_user_never_sees_another_users_lines(self, market, person):
        bought = _buy(market, None)
        assert person.history()["data"] == []
        someone_elses = _history(market, bought["headers"])[0]["id"]
        response = person.client.get("/v1/me/history", headers=person.headers, params={"starting_after": someone_elses})
        assert response.status_code == 400 and response.json()["error"]["param"] == "starting_after"


class TestFiltersAndPages:
    def test_pages_follow_each_other_without_gaps_or_repeats(self, market):
        bought = _buy(market, None, 100)
        for _ in range(4):
            extra = market.open_trade(100, buyer={"platform_user_id": "again", "email": "again@example.com"})
            market.client.post(f"/v1/trades/{extra['id']}/pay", json={"source": "balance"},
                               headers=market.token_for(extra["buyer"]["user_id"]))
        everything = _history(market, bought["headers"])
        seen, after = [], None
        while True:
            params = {"limit": 2, **({"starting_after": after} if after else {})}
            page = market.client.get("/v1/me/history", headers=bought["headers"], params=params).json()
            seen += page["data"]
            if not page["has_more"]:
                break
            after = page["data"][-1]["id"]
        assert [x["id"] for x in seen] == [x["id"] for x in everything] and len(seen) >= 2

    def test_type_currency_and_dates_narrow_the_history(self, market):
        bought = _buy(market, None)
        headers = bought["headers"]
        assert [x["type"] for x in _history(market, headers, type="topup")] == ["topup"]
        assert [x["type"] for x in _history(market, headers, type="topup,payment")] == ["payment", "topup"]
        assert _history(market, headers, currency="EUR") == []
        assert len(_history(market, headers, currency="usd")) == 2
        today = clock.now().date()
        assert len(_history(market, headers, **{"from": today.isoformat(), "to": today.isoformat()})) == 2
        assert _history(market, headers, **{"from": (today + timedelta(days=1)).isoformat()}) == []
        assert _history(market, headers, to=(today - timedelta(days=1)).isoformat()) == []

    def test_bad_filters_are_clear_400s(self, market, person):
        for params, param in (({"type": "gifts"}, "type"), ({"from": "yesterday"}, "from"),
                              ({"currency": "XYZ"}, "currency"), ({"limit": 0}, "limit")):
            response = person.client.get("/v1/me/history", headers=person.headers, params=params)
            assert response.status_code == 400, response.text
            assert response.json()["error"]["param"] == param


class TestCsvExport:
    def test_a_spreadsheet_reads_it_back_and_formulas_stay_text(self, market):
        bought = _buy(market, None, 2599, subject='=HYPERLINK("http://evil.example","win"), "teapot"')
        response = market.client.get("/v1/me/history.csv", headers=bought["headers"])
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
        assert response.content.startswith("\ufeff".encode())
        rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
        assert [(r["type"], r["amount"], r["held"]) for r in rows] == [("payment", "-25.99", "25.99"),
                                                                       ("topup", "50.00", "0.00")]
        payment = rows[0]
        assert payment["subject"] == '\'=HYPERLINK("http://evil.example","win"), "teapot"'
        assert payment["date"].endswith("Z") and payment["date"][:10] == clock.now().date().isoformat()
        assert payment["currency"] == "USD" and payment["status"] == "pending"
        assert payment["trade_id"] == bought["trade"]["id"] and payment["counterparty"] == "Teapot Workshop"
        assert b"\r\n" in response.content  # RFC 4180 line ends

    def test_amounts_have_each_currencys_own_decimals(self, market, person):
        market.fund(person.id, 1234, "JPY")
        market.fund(person.id, 1234, "USD")
        text = person.client.get("/v1/me/history.csv", headers=person.headers).content.decode("utf-8-sig")
        amounts = {(r["currency"], r["amount"]) for r in csv.DictReader(io.StringIO(text, newline=""))}
        assert amounts == {("JPY", "1234"), ("USD", "12.34")}

    def test_the_export_takes_the_same_filters(self, market):
        bought = _buy(market, None)
        text = market.client.get("/v1/me/history.csv", headers=bought["headers"],
                                 params={"type": "topup"}).content.decode("utf-8-sig")
        assert [r["type"] for r in csv.DictReader(io.StringIO(text, newline=""))] == ["topup"]
