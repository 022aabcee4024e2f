"""Operator actions from the back office call the owning domain's use case and write an audit
row — who, what, before, after, request id, address — in the same transaction."""

from __future__ import annotations

import pytest

from amanah.backoffice import actions
from amanah.core import service_mode
from amanah.core.clock import clock
from amanah.core.db import run_in_transaction
from amanah.core.errors import Conflict
from tests.integration.backoffice.conftest import CLI, audit_rows
from tests.integration.trades.conftest import make_market
from tests.unit.fx.ecb_fixtures import ECB_DAILY


def balance(client, headers, currency: str = "USD") -> dict:
    found = [b for b in client.get("/v1/me/balances", headers=headers).json()["data"] if b["currency"] == currency]
    return found[0] if found else {"available": 0, "held": 0}


@pytest.fixture
def dispute(client, engine):
    market = make_market(client, engine)
    trade, buyer = market.paid_trade(2599)
    opened = client.post(f"/v1/trades/{trade['id']}/dispute", json={"reason": "Arrived broken"}, headers=buyer)
    assert opened.status_code == 200, opened.text
    return market, trade, buyer


class TestSettlingADispute:
    def test_refunding_the_buyer_moves_the_money_and_is_audited_with_before_and_after(self, desk, engine, dispute):
        market, trade, buyer = dispute
        assert balance(desk.client, buyer) == {"currency": "USD", "available": 0, "held": 2599}
        queue = desk.client.get("/backoffice/disputes").text
        assert trade["id"] in queue and "Arrived broken" in queue
        response = desk.post(f"/backoffice/disputes/{trade['id']}/resolve", {"outcome": "refund_buyer",
                                                                           "note": "photos show damage"})
        assert response.status_code == 303, response.text
        assert balance(desk.client, buyer) == {"currency": "USD", "available": 2599, "held": 0}
        assert desk.client.get(f"/v1/trades/{trade['id']}", headers=market.as_platform).json()["status"] == "refunded"
        [row] = audit_rows(engine, action="dispute.resolve", target_id=trade["id"])
        assert (row.actor_type, row.actor_id, row.actor_label) == ("account", desk.login.id, desk.login.email)
        assert row.before["status"] == "disputed" and row.before["buyer"]["held"] == 2599
        assert row.after["status"] == "refunded" and row.after["buyer"]["available"] == 2599
        assert row.after["dispute"]["outcome"] == "refund_buyer" and row.after["note"] == "photos show damage"
        assert row.request_id and row.client_address
        assert trade["id"] not in desk.client.get("/backoffice/disputes").text

    def test_a_split_gives_the_buyer_their_share_and_the_seller_the_rest(self, desk, engine, dispute):
        market, trade, buyer = dispute
        seller = market.token_for(market.seller["user_id"])
        seller_before = balance(desk.client, seller)
        response = desk.post(f"/backoffice/disputes/{trade['id']}/resolve", {"outcome": "split",
                                                                           "buyer_amount": "10.00"})
        assert response.status_code == 303, response.text
        assert balance(desk.client, buyer)["available"] == 1000
        completed = desk.client.get(f"/v1/trades/{trade['id']}", headers=market.as_platform).json()
        assert completed["status"] == "completed"
        fee = completed["fee_amount"]
        assert balance(desk.client, seller)["available"] - seller_before["available"] == 1599 - fee
        [row] = audit_rows(engine, action="dispute.resolve", target_id=trade["id"])
        assert row.after["dispute"]["buyer_amount"] == 1000

    def test_a_split_with_a_share_too_large_is_refused_and_nothing_moves(self, desk, engine, dispute):
        _market, trade, buyer = dispute
        response = desk.post(f"/backoffice/disputes/{trade['id']}/resolve", {"outcome": "split",
                                                                           "buyer_amount": "25.99"})
        assert response.status_code == 400 and "between 1 and 2598" in response.text
        assert balance(desk.client, buyer)["held"] == 2599
        assert audit_rows(engine, action="dispute.resolve", target_id=trade["id"]) == []

    def test_a_form_without_the_csrf_token_is_refused_and_nothing_moves(self, desk, engine, dispute):
        _market, trade, buyer = dispute
        response = desk.client.post(f"/backoffice/disputes/{trade['id']}/resolve",
                                    data={"outcome": "refund_buyer"}, follow_redirects=False)
        assert response.status_code == 403
        assert balance(desk.client, buyer)["held"] == 2599

    def test_the_queue_is_oldest_first(self, desk, client, engine):
        market = make_market(client, engine)
        ids = []
        for _ in range(2):
            trade, buyer = market.paid_trade(500)
            client.post(f"/v1/trades/{trade['id']}/dispute", json={"reason": "late"}, headers=buyer)
            clock.advance(1)
            ids.append(trade["id"])
        page = desk.client.get("/backoffice/disputes").text
        assert page.index(ids[0]) < page.index(ids[1])

    def test_when_the_settlement_fails_no_audit_row_is_left(self, engine, dispute):
        _market, trade, _buyer = dispute
        run_in_transaction(engine, lambda c: actions.resolve_dispute(c, CLI, trade["id"], outcome="release_seller",
                                                                     buyer_amount=None, note=None, now=clock.now()))
        with pytest.raises(Conflict):  # settled already: the second one fails, with its audit row
            run_in_transaction(engine, lambda c: actions.resolve_dispute(
                c, CLI, trade["id"], outcome="refund_buyer", buyer_amount=None, note=None, now=clock.now()))
        assert len(audit_rows(engine, action="dispute.resolve", target_id=trade["id"])) == 1


class TestServiceMode:
    def test_switching_it_is_audited_with_the_reason(self, desk, engine):
        response = desk.post("/backoffice/service-mode", {"mode": "wind_down", "reason": "licence withdrawn"})
        assert response.status_code == 303
        with engine.connect() as connection:
            state = service_mode.current(connection)
        assert state.mode is service_mode.Mode.WIND_DOWN and state.changed_by.startswith(f"backoffice:{desk.login.id}")
        row = audit_rows(engine, action="service_mode.set", actor_id=desk.login.id)[-1]
        assert row.before["mode"] == "normal" and row.after == {**row.after, "mode": "wind_down",
                                                                 "reason": "licence withdrawn"}
        assert "licence withdrawn" in desk.client.get("/backoffice/service-mode").text

    def test_a_switch_without_a_reason_is_refused(self, desk, engine):
        before = len(audit_rows(engine, action="service_mode.set"))
        response = desk.post("/backoffice/service-mode", {"mode": "wind_down", "reason": " "})
        assert response.status_code == 400
        with engine.connect() as connection:
            assert service_mode.current(connection).mode is service_mode.Mode.NORMAL
        assert len(audit_rows(engine, action="service_mode.set")) == before

    def test_an_unknown_mode_is_a_400(self, desk):
        assert desk.post("/backoffice/service-mode", {"mode": "off", "reason": "x"}).status_code == 400


class TestFxRates:
    def test_a_rate_set_by_hand_is_stored_and_audited(self, desk, engine):
        response = desk.post("/backoffice/fx/rates", {"base": "EUR", "quote": "KZT", "rate": "512.25"})
        assert response.status_code == 303
        assert "512.25" in desk.client.get(response.headers["location"]).text
        row = audit_rows(engine, action="fx.rate.set", actor_id=desk.login.id)[-1]
        assert row.target_id == "EUR/KZT" and row.after["rate"] == "512.25" and row.after["source"] == "manual"

    def test_a_bad_rate_is_a_400_and_not_audited(self, desk, engine):
        before = len(audit_rows(engine, action="fx.rate.set"))
        assert desk.post("/backoffice/fx/rates", {"base": "EUR", "quote": "KZT", "rate": "-3"}).status_code == 400
        assert desk.post("/backoffice/fx/rates", {"base": "EUR", "quote": "EUR", "rate": "1"}).status_code == 400
        assert len(audit_rows(engine, action="fx.rate.set")) == before

    def test_an_ecb_file_is_imported_and_audited(self, desk, engine):
        response = desk.client.post("/backoffice/fx/import", data={"csrf_token": desk.csrf},
                                    files={"file": ("eurofxref.xml", ECB_DAILY, "text/xml")}, follow_redirects=False)
        assert response.status_code == 303, response.text
        assert "Imported" in desk.client.get(response.headers["location"]).text
        row = audit_rows(engine, action="fx.rates.import", actor_id=desk.login.id)[-1]
        assert row.after["file_name"] == "eurofxref.xml" and row.after["stored"] > 0
        assert row.after["first_day"] == "2024-01-05"

    def test_a_file_that_is_not_rates_is_a_400(self, desk):
        response = desk.client.post("/backoffice/fx/import", data={"csrf_token": desk.csrf},
                                    files={"file": ("x.xml", b"<not-rates/>", "text/xml")}, follow_redirects=False)
        assert response.status_code == 400
