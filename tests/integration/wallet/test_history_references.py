"""Payment history: what each line refers to (trade, top-up, withdrawal, the quote of a
conversion, the hold an expiry ends) and how each hold ended, all kinds on one page, checked
field by field; and every page, filter and cursor reads the same lines as the whole history."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest

from amanah import ledger
from amanah.core.clock import clock
from amanah.core.db import run_in_transaction
from amanah.core.ids import new_id
from amanah.fx import service as fx_service
from amanah.ledger import AccountKind, TransferKind, TransferRequest
from amanah.wallet.service import TYPES
from amanah.wallet.service.common import PAYOUT_CONNECTOR

FIELDS = ("type", "currency", "status", "counterparty", "marketplace", "subject", "trade_id", "reference")
MARKET, SELLER, VISA, DECLINING_VISA = "Teapot Bazaar", "Teapot Workshop", "Visa •••• 4242", "Visa •••• 0002"
EXCHANGE = "Currency exchange"


def _ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    return response.json()


def _history(market, headers, **params) -> list[dict]:
    return _ok(market.client.get("/v1/me/history", headers=headers, params={"limit": 100, **params}))["data"]


def _expire_a_hold(market, user_id: str, amount: int, reference: str) -> None:
    """A hold on the user's dollars for ``reference`` that times out, and its expiry (the request
    the ledger's expiry job makes, for this hold only: the session's database is shared)."""
    def work(connection):
        now = clock.now()
        wallet = ledger.open_account(connection, kind=AccountKind.USER_WALLET, owner_ref=user_id, currency="USD",
                                     now=now)
        payout = ledger.open_account(connection, kind=AccountKind.PAYOUT_CLEARING, owner_ref=PAYOUT_CONNECTOR,
                                     currency="USD", now=now)
        hold = ledger.create_transfer(connection, TransferRequest.pending(
            f"hold_{secrets.token_hex(8)}", debit=wallet.id, credit=payout.id, amount=amount,
            code="withdrawal_hold", timeout_s=1, reference=reference), now=now)
        ledger.create_transfer(connection, TransferRequest(new_id("xfr"), TransferKind.EXPIRE_PENDING, "expire",
                                                           pending_id=hold.id), now=now + timedelta(seconds=2))

    run_in_transaction(market.engine, work)


@pytest.fixture
def mixed(market, engine):
    """One buyer's history with every kind of reference: top-ups (one converted from yen), a
    trade paid and released, a trade paid in euros and refunded, a withdrawal paid, one
    declined, and a hold that expired."""
    run_in_transaction(engine, lambda c: fx_service.load_sample_rates(c, now=clock.now()))
    party = {"platform_user_id": f"mixed-{secrets.token_hex(4)}", "email": f"mixed.{secrets.token_hex(6)}@example.com"}
    kept = market.open_trade(2599, fee={"bps": 250}, subject="Blue teapot", buyer=party)
    buyer_id = kept["buyer"]["user_id"]
    buyer = market.token_for(buyer_id)

    def post(path: str, body: dict | None = None, status: int = 201, headers: dict = buyer) -> dict:
        return _ok(market.client.post(path, headers=headers, json=body), status)

    def card(number: str) -> str:
        return post("/v1/me/cards", {"number": number, "exp_month": 12, "exp_year": 2031, "cvc": "123",
                                     "holder_name": "Ana"})["id"]

    visa, declining = card("4242424242424242"), card("4000000000000002")
    topup = post("/v1/me/topups", {"amount": 5000, "currency": "USD", "card_id": visa})
    in_yen = post("/v1/me/topups", {"amount": 10_000, "currency": "JPY", "card_id": visa, "charge_currency": "USD"})
    post(f"/v1/trades/{kept['id']}/pay", {"source": "balance"}, 200)
    post(f"/v1/trades/{kept['id']}/confirm", None, 200)
    refunded = market.open_trade(1000, subject="Green cup", buyer=party)
    market.fund(buyer_id, 2000, "EUR")
    paid = post(f"/v1/trades/{refunded['id']}/pay", {"source": "balance", "pay_currency": "EUR"}, 200)
    post(f"/v1/trades/{refunded['id']}/refunds", {"amount": 1000}, headers=market.as_platform)
    withdrawn = post("/v1/me/withdrawals", {"amount": 700, "currency": "USD", "card_id": visa})
    declined = post("/v1/me/withdrawals", {"amount": 300, "currency": "USD", "card_id": declining})
    _expire_a_hold(market, buyer_id, 200, declined["id"])
    return {"buyer": buyer, "kept": kept["id"], "refunded": refunded["id"], "topup": topup["id"],
            "in_yen": in_yen["id"], "quote": in_yen["quote_id"], "trade_quote": paid["payment"]["quote_id"],
            "withdrawn": withdrawn["id"], "declined": declined["id"]}


class TestEveryKindOfReferenceOnOnePage:
    def test_each_line_names_what_it_refers_to_and_how_its_hold_ended(self, market, mixed):
        lines = _history(market, mixed["buyer"])
        kept, refunded = mixed["kept"], mixed["refunded"]
        assert [tuple(line[f] for f in FIELDS) for line in lines] == [
            ("expiry", "USD", "completed", DECLINING_VISA, None, None, None, mixed["declined"]),
            ("withdrawal", "USD", "returned", DECLINING_VISA, None, None, None, mixed["declined"]),
            ("withdrawal", "USD", "completed", DECLINING_VISA, None, None, None, mixed["declined"]),
            ("withdrawal", "USD", "returned", DECLINING_VISA, None, None, None, mixed["declined"]),
            ("withdrawal", "USD", "completed", VISA, None, None, None, mixed["withdrawn"]),
            ("withdrawal", "USD", "completed", VISA, None, None, None, mixed["withdrawn"]),
            ("refund", "USD", "completed", SELLER, MARKET, "Green cup", refunded, refunded),
            ("payment", "USD", "returned", SELLER, MARKET, "Green cup", refunded, refunded),
            ("conversion", "USD", "completed", EXCHANGE, MARKET, "Green cup", refunded, mixed["trade_quote"]),
            ("conversion", "EUR", "completed", EXCHANGE, MARKET, "Green cup", refunded, mixed["trade_quote"]),
            ("topup", "EUR", "completed", None, None, None, None, None),
            ("escrow_release", "USD", "completed", SELLER, MARKET, "Blue teapot", kept, kept),
            ("payment", "USD", "completed", SELLER, MARKET, "Blue teapot", kept, kept),
            ("conversion", "JPY", "completed", EXCHANGE, None, None, None, mixed["quote"]),
            ("conversion", "USD", "completed", EXCHANGE, None, None, None, mixed["quote"]),
            ("topup", "USD", "completed", VISA, None, None, None, mixed["in_yen"]),
            ("topup", "USD", "completed", VISA, None, None, None, mixed["topup"]),
        ]
        # Amounts in the price's currency (the conversions' depend on the day's rates).
        assert [(x["amount"], x["held"]) for x in lines[:8] + lines[10:13] + lines[-1:]] == [
            (200, -200), (-200, 200), (300, -300), (-300, 300), (0, -700), (-700, 700), (1000, -1000), (-1000, 1000),
            (2000, 0), (0, -2599), (-2599, 2599), (5000, 0)]
        assert lines[8]["amount"] == 1000 and lines[9]["amount"] < 0 and lines[13]["amount"] == 10_000
        assert {x["trade_url"] for x in lines if x["trade_id"] == kept} == {f"http://testserver/v1/trades/{kept}"}
        market.verify()

    def test_the_seller_sees_the_marketplace_on_every_line(self, market, mixed):
        seller = market.token_for(market.seller["user_id"])
        mine = [x for x in _history(market, seller) if x["trade_id"] in (mixed["kept"], mixed["refunded"])]
        assert [(x["type"], x["status"], x["subject"], x["counterparty"], x["marketplace"]) for x in mine] == [
            ("refund", "completed", "Green cup", MARKET, MARKET),
            ("escrow_hold", "returned", "Green cup", MARKET, MARKET),
            ("fee", "completed", "Blue teapot", MARKET, MARKET),
            ("escrow_release", "completed", "Blue teapot", MARKET, MARKET),
            ("escrow_hold", "completed", "Blue teapot", MARKET, MARKET),
        ]


class TestPagesAndFiltersReadTheSameLines:
    def test_any_page_size_walks_the_whole_history_in_order(self, market, mixed):
        everything = _history(market, mixed["buyer"])
        for size in (1, 2, 3, 7):
            seen, after = [], None
            while True:
                params = {"limit": size, **({"starting_after": after} if after else {})}
                page = _ok(market.client.get("/v1/me/history", headers=mixed["buyer"], params=params))
                seen += page["data"]
                if not page["has_more"]:
                    break
                after = page["data"][-1]["id"]
            assert seen == everything, size

    def test_each_type_and_currency_filter_is_the_whole_history_narrowed(self, market, mixed):
        everything = _history(market, mixed["buyer"])
        for name in TYPES:
            assert _history(market, mixed["buyer"], type=name) == [x for x in everything if x["type"] == name], name
        for code in ("USD", "EUR", "JPY"):
            assert _history(market, mixed["buyer"], currency=code) == [x for x in everything if x["currency"] == code]
        both = _history(market, mixed["buyer"], type="conversion,topup", currency="USD", limit=2)
        assert both == [x for x in everything if x["type"] in ("conversion", "topup") and x["currency"] == "USD"][:2]
