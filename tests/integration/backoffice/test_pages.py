"""Every back-office page renders for a signed-in operator and for nobody else: no session, a
buyer's cabinet session, an operator API key and a platform key are all sent to the log-in."""

from __future__ import annotations

import secrets

import pytest
import sqlalchemy as sa

from amanah.api.user_auth import session_cookie_name
from amanah.core.clock import clock
from amanah.core.db import run_in_transaction
from amanah.ledger.models import transfers
from amanah.users import service as users
from tests.integration.trades.conftest import make_market

PAGES = [
    "/backoffice", "/backoffice?q={email}", "/backoffice?q={out_trade_no}", "/backoffice?q={transfer_id}",
    "/backoffice?q=Teapot", "/backoffice/users/{buyer_id}", "/backoffice/platforms/{platform_id}",
    "/backoffice/trades/{trade_id}", "/backoffice/transfers/{transfer_id}", "/backoffice/disputes",
    "/backoffice/service-mode", "/backoffice/fx", "/backoffice/ledger", "/backoffice/ledger?run=1",
    "/backoffice/liabilities", "/backoffice/audit-log", "/backoffice/audit-log?action=operator.log_in",
    "/backoffice/password",
]


@pytest.fixture
def objects(client, engine) -> dict:
    name = f"Teapot Backoffice {secrets.token_hex(4)}"
    market = make_market(client, engine, name=name)
    trade, buyer = market.paid_trade(2599)
    disputed = client.post(f"/v1/trades/{trade['id']}/dispute", json={"reason": "It is cracked"}, headers=buyer)
    assert disputed.status_code == 200, disputed.text
    with engine.connect() as connection:
        transfer_id = connection.execute(sa.select(transfers.c.id).where(transfers.c.reference == trade["id"])
                                         .order_by(transfers.c.seq)).scalars().first()
        email = users.get_user(connection, trade["buyer"]["user_id"]).email
    return {"email": email, "out_trade_no": trade["out_trade_no"], "transfer_id": transfer_id,
            "buyer_id": trade["buyer"]["user_id"], "platform_id": market.platform_id, "trade_id": trade["id"],
            "market": market, "platform_name": name}


@pytest.mark.parametrize("template", PAGES)
def test_each_page_renders_for_a_signed_in_operator(desk, objects, template):
    response = desk.client.get(template.format(**objects), follow_redirects=False)
    assert response.status_code == 200, response.text[:500]
    assert "text/html" in response.headers["content-type"]
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY" and response.headers["cache-control"] == "no-store"
    assert "Traceback" not in response.text


def _cabinet_session(engine, objects) -> str:
    started = run_in_transaction(engine, lambda c: users.start_session(c, objects["buyer_id"], now=clock.now()))
    return started.session_id


@pytest.mark.parametrize("who", ["nobody", "cabinet user", "operator key", "platform key"])
@pytest.mark.parametrize("template", PAGES)
def test_each_page_sends_anyone_else_to_the_log_in(client, engine, objects, template, who):
    market = objects["market"]
    headers = {"operator key": market.as_operator, "platform key": market.as_platform}.get(who, {})
    if who == "cabinet user":
        client.cookies.set(session_cookie_name(client.app.state.settings), _cabinet_session(engine, objects))
    path = template.format(**objects)
    response = client.get(path, headers=headers, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/backoffice/login?next=")
    assert objects["email"] not in response.text


class TestSearch:
    def test_a_user_is_found_by_the_start_of_the_email(self, desk, objects):
        page = desk.client.get("/backoffice", params={"q": objects["email"][:12]}).text
        assert f'/backoffice/users/{objects["buyer_id"]}' in page

    def test_a_trade_is_found_by_the_platforms_reference_and_by_its_id(self, desk, objects):
        for text in (objects["out_trade_no"], objects["trade_id"]):
            page = desk.client.get("/backoffice", params={"q": text}).text
            assert f'/backoffice/trades/{objects["trade_id"]}' in page

    def test_a_platform_is_found_by_its_name_in_any_case_and_a_transfer_by_id(self, desk, objects):
        assert f'/backoffice/platforms/{objects["platform_id"]}' in desk.client.get(
            "/backoffice", params={"q": objects["platform_name"].lower()}).text
        assert f'/backoffice/transfers/{objects["transfer_id"]}' in desk.client.get(
            "/backoffice", params={"q": objects["transfer_id"]}).text

    def test_like_wildcards_in_the_text_match_only_themselves(self, desk, objects):
        # "Teapot Backoffice 1a2b3c4d" would match "teapot backoffice 1a2b3c4_" or "…%" if the
        # wildcards were not escaped (a bare "%" could match another test's odd names).
        for wildcard in ("_", "%"):
            page = desk.client.get("/backoffice", params={"q": objects["platform_name"][:-1] + wildcard}).text
            assert "Nothing found" in page and objects["platform_id"] not in page
        page = desk.client.get("/backoffice", params={"q": objects["platform_name"][:-1]}).text
        assert f'/backoffice/platforms/{objects["platform_id"]}' in page  # the prefix itself does match


class TestDetailPages:
    def test_the_users_page_shows_balances_and_history_from_the_wallet_service(self, desk, objects):
        page = desk.client.get(f"/backoffice/users/{objects['buyer_id']}").text
        assert "$25.99" in page  # paid into escrow: held
        assert objects["trade_id"] in page

    def test_the_trade_page_lists_its_webhook_events_and_transfers(self, desk, objects):
        page = desk.client.get(f"/backoffice/trades/{objects['trade_id']}").text
        assert "trade.held" in page and "trade.disputed" in page
        assert objects["transfer_id"] in page and "It is cracked" in page

    def test_an_unknown_object_is_a_404_page(self, desk):
        for path in ("/backoffice/trades/trd_nope", "/backoffice/users/usr_nope", "/backoffice/platforms/plt_nope",
                     "/backoffice/transfers/nope"):
            response = desk.client.get(path)
            assert response.status_code == 404 and "Not found" in response.text, path
