"""The daily reconciliation of the clearing accounts against the connectors' own records:
worked through the API (card and e-wallet top-ups, a trade paid by card and partly refunded to
it, a declined card, a withdrawal), then faults made the way they happen — on the connector's
side in the sandbox's own table, on ours through the ledger service."""

from __future__ import annotations

import csv
import io
import secrets
from datetime import timedelta

import sqlalchemy as sa

from amanah import ledger
from amanah.cards.models import sandbox_operations
from amanah.core.clock import clock
from amanah.core.db import run_in_transaction
from amanah.ledger import AccountKind, TransferRequest
from amanah.reports import reconciliation

CARD, EWALLET, PAYOUT = "card_clearing:sandbox_acquirer", "ewallet_clearing:alphapay", "payout_clearing:sandbox_acquirer"


def _approve(client, url: str) -> None:
    response = client.post(url.removeprefix("http://testserver"), data={"outcome": "approve"})
    assert response.status_code == 200, response.text


def _a_day_of_business(market, make_person) -> dict:
    """Card top-up 5000, declined card, e-wallet top-up 700, trade 2599 paid by card with 1000
    refunded to the card, withdrawal 1200: every kind of operation, all in US dollars."""
    person = make_person()
    card = person.bind()
    assert person.topup(5000, card_id=card).json()["status"] == "succeeded"
    declined = person.topup(300, card_id=person.bind("4000000000000002")).json()
    assert declined["status"] == "failed"
    wallet_topup = person.topup(700, source="wallet:alphapay").json()
    _approve(person.client, wallet_topup["next_action"]["url"])
    trade = market.open_trade(2599)
    headers = market.token_for(trade["buyer"]["user_id"])
    bound = market.client.post("/v1/me/cards", headers=headers, json={
        "number": "4242424242424242", "exp_month": 12, "exp_year": 2031, "cvc": "123", "holder_name": "Buyer"})
    paid = market.client.post(f"/v1/trades/{trade['id']}/pay", headers=headers, json={"source": bound.json()["id"]})
    assert paid.json()["status"] == "held", paid.text
    refund = market.client.post(f"/v1/trades/{trade['id']}/refunds", headers=market.as_platform,
                                json={"amount": 1000, "reason": "one cup broken"})
    assert refund.status_code == 201, refund.text
    withdrawal = person.withdraw(1200, card).json()
    assert withdrawal["status"] == "succeeded", withdrawal
    return {"refund_id": refund.json()["id"], "withdrawal_id": withdrawal["id"], "trade_id": trade["id"]}


def _report(client, market, **params) -> dict:
    response = client.get("/v1/admin/reports/reconciliation", headers=market.as_operator,
                          params={"date": clock.now().date().isoformat(), **params})
    assert response.status_code == 200, response.text
    return response.json()


def _account(report: dict, name: str) -> dict:
    return next(account for account in report["accounts"] if account["account"] == name)


def _problems(report: dict) -> set[tuple[str, str, str]]:
    return {(account["account"], line["problem"], line["operation_id"])
            for account in report["accounts"] for line in account["mismatches"]}


class TestACleanDay:
    def test_charges_a_refund_an_e_wallet_charge_and_a_payout_all_match(self, client, market, make_person):
        _a_day_of_business(market, make_person)
        report = _report(client, market)
        assert report["ok"] and report["mismatches"] == 0, report
        card = _account(report, CARD)
        # Two card charges, the refund, and the declined charge (failed on both sides: nothing moved).
        assert card["matched"] == 4
        assert card["totals"] == {"USD": {"charges": 5000 + 2599, "refunds": 1000, "payouts": 0, "count": 3,
                                          "net": 5000 + 2599 - 1000}}
        assert _account(report, EWALLET)["totals"]["USD"]["charges"] == 700
        assert _account(report, PAYOUT)["totals"]["USD"] == {"charges": 0, "refunds": 0, "payouts": 1200,
                                                            "count": 1, "net": -1200}
        assert _account(report, "ewallet_clearing:betawallet")["matched"] == 0

    def test_the_day_before_has_nothing_to_match(self, client, market, make_person, engine, settings):
        _a_day_of_business(market, make_person)
        report = reconciliation.reconcile(engine, settings, clock.now().date() - timedelta(days=1))
        assert report.ok and all(not account.matched for account in report.accounts)
        assert {line.result for account in report.accounts for line in account.timing_differences} <= {"other_day"}


class TestFaultsAreReported:
    def test_a_connector_record_with_no_ledger_transfer(self, client, market, make_person, engine):
        _a_day_of_business(market, make_person)
        now = clock.now()
        run_in_transaction(engine, lambda c: c.execute(sandbox_operations.insert().values(
            id=f"sbx_{secrets.token_hex(12)}", connector="sandbox_acquirer", kind="charge", charge_id="chg_unknown",
            amount=4242, currency="EUR", status="succeeded", created_at=now, updated_at=now)))
        report = _report(client, market)
        assert not report["ok"]
        assert _problems(report) == {(CARD, "missing_in_ledger", "chg_unknown")}
        line = _account(report, CARD)["mismatches"][0]
        assert line["ledger"] is None and line["connector"]["amount"] == 4242 and line["connector"]["currency"] == "EUR"

    def test_a_ledger_transfer_with_no_connector_record(self, client, market, make_person, engine):
        _a_day_of_business(market, make_person)
        person = make_person()
        withdrawal_id = f"wdr_{secrets.token_hex(8)}"

        def pay_out_behind_the_acquirers_back(connection):
            now = clock.now()
            wallet = ledger.open_account(connection, kind=AccountKind.USER_WALLET, owner_ref=person.id,
                                         currency="USD", now=now)
            clearing = ledger.open_account(connection, kind=AccountKind.CARD_CLEARING, owner_ref="sandbox_acquirer",
                                           currency="USD", now=now)
            payout = ledger.open_account(connection, kind=AccountKind.PAYOUT_CLEARING, owner_ref="sandbox_acquirer",
                                         currency="USD", now=now)
            ledger.create_linked(connection, [
                TransferRequest.direct(f"{withdrawal_id}:seed", debit=clearing.id, credit=wallet.id, amount=800,
                                       code="test_seed"),
                TransferRequest.pending(f"{withdrawal_id}:hold", debit=wallet.id, credit=payout.id, amount=800,
                                        code="withdrawal_hold", reference=withdrawal_id),
                TransferRequest.post(f"{withdrawal_id}:paid", pending_id=f"{withdrawal_id}:hold",
                                     code="withdrawal_paid", reference=withdrawal_id),
            ], now=now)

        run_in_transaction(engine, pay_out_behind_the_acquirers_back)
        report = _report(client, market)
        assert _problems(report) == {(PAYOUT, "missing_at_connector", withdrawal_id),
                                     (CARD, "missing_at_connector", f"{withdrawal_id}:seed")}
        payout_line = _account(report, PAYOUT)["mismatches"][0]
        assert payout_line["kind"] == "payout" and payout_line["ledger"]["amount"] == 800
        assert payout_line["ledger"]["reference"] == f"{withdrawal_id}:paid" and payout_line["connector"] is None

    def test_an_amount_that_differs(self, client, market, make_person, engine):
        done = _a_day_of_business(market, make_person)
        run_in_transaction(engine, lambda c: c.execute(sandbox_operations.update().where(
            sandbox_operations.c.id == done["refund_id"]).values(amount=1001)))
        report = _report(client, market)
        assert _problems(report) == {(CARD, "amount_differs", done["refund_id"])}
        line = _account(report, CARD)["mismatches"][0]
        assert (line["ledger"]["amount"], line["connector"]["amount"]) == (1000, 1001)
        # The refund no longer counts in the matched totals.
        assert _account(report, CARD)["totals"]["USD"]["refunds"] == 0

    def test_a_payout_the_acquirer_says_failed_but_the_ledger_booked(self, client, market, make_person, engine):
        done = _a_day_of_business(market, make_person)
        run_in_transaction(engine, lambda c: c.execute(sandbox_operations.update().where(
            sandbox_operations.c.id == done["withdrawal_id"]).values(status="failed", failure_code="card_declined")))
        report = _report(client, market)
        assert _problems(report) == {(PAYOUT, "status_differs", done["withdrawal_id"])}


class TestCSV:
    def test_a_header_then_one_operation_per_line(self, client, market, make_person, engine):
        done = _a_day_of_business(market, make_person)
        run_in_transaction(engine, lambda c: c.execute(sandbox_operations.update().where(
            sandbox_operations.c.id == done["refund_id"]).values(amount=999)))
        day = clock.now().date().isoformat()
        response = client.get("/v1/admin/reports/reconciliation", headers=market.as_operator,
                              params={"date": day, "format": "csv"})
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        assert response.headers["content-disposition"] == f'attachment; filename="reconciliation-{day}.csv"'
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert list(rows[0]) == list(reconciliation.CSV_COLUMNS)
        # 4 card operations, 1 e-wallet charge, 1 payout; the mismatch first.
        assert len(rows) == 6 and len(response.text.strip().split("\r\n")) == 7
        assert rows[0]["result"] == "amount_differs" and rows[0]["operation_id"] == done["refund_id"]
        assert (rows[0]["ledger_amount"], rows[0]["connector_amount"]) == ("1000", "999")
        assert sorted(row["result"] for row in rows[1:]) == ["matched"] * 5


class TestBadRequests:
    def test_a_malformed_missing_or_future_date_is_a_400(self, client, market):
        for params in ({"date": "2025-13-01"}, {"date": "yesterday"}, {}, {"date": "1999-12-31"},
                       {"date": (clock.now().date() + timedelta(days=1)).isoformat()},
                       {"date": "2025-1-1"}, {"date": "9999-12-31"}):
            response = client.get("/v1/admin/reports/reconciliation", headers=market.as_operator, params=params)
            assert response.status_code == 400, (params, response.text)
            assert response.json()["error"]["param"] == "date"

    def test_an_unknown_format_is_a_400(self, client, market):
        response = client.get("/v1/admin/reports/reconciliation", headers=market.as_operator,
                              params={"date": clock.now().date().isoformat(), "format": "xlsx"})
        assert response.status_code == 400 and response.json()["error"]["param"] == "format"

    def test_only_operators_see_it(self, client, market):
        response = client.get("/v1/admin/reports/reconciliation", headers=market.as_platform,
                              params={"date": clock.now().date().isoformat()})
        assert response.status_code in (401, 403)


class TestCommand:
    def test_the_command_prints_the_report_writes_the_csv_and_fails_on_a_mismatch(
            self, market, make_person, engine, database_url, tmp_path):
        from typer.testing import CliRunner

        from amanah.cli import app

        done = _a_day_of_business(market, make_person)
        run = lambda *args: CliRunner().invoke(app, ["report", "reconciliation", *args],  # noqa: E731
                                               env={"AMANAH_DATABASE_URL": database_url,
                                                    "AMANAH_DATA_DIR": str(tmp_path / "data")})
        day = clock.now().date().isoformat()
        clean = run("--date", day)
        assert clean.exit_code == 0, clean.output
        assert "card_clearing:sandbox_acquirer: 4 matched, 0 mismatched" in clean.output and "OK" in clean.output
        run_in_transaction(engine, lambda c: c.execute(sandbox_operations.update().where(
            sandbox_operations.c.id == done["withdrawal_id"]).values(amount=1)))
        out = tmp_path / "recon.csv"
        faulty = run("--date", day, "--csv", str(out))
        assert faulty.exit_code == 1
        assert f"amount_differs: payout {done['withdrawal_id']}" in faulty.output
        assert out.read_text().splitlines()[0] == ",".join(reconciliation.CSV_COLUMNS)
        assert run("--date", "31.12.2025").exit_code == 2
