"""A marketplace's checkout under load (issue 27): twenty POST /v1/trades at once for one buyer
nobody has seen yet, and twenty POST /v1/sellers at once for one new seller, against a real
server on PostgreSQL with real parallel connections. Every answer is a success, and there is
one account, one buyer link and one seller afterwards (every get-or-create is INSERT … ON
CONFLICT DO NOTHING then read, or retried: never a unique violation's 500)."""

from __future__ import annotations

import secrets
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import sqlalchemy as sa

from amanah.platforms.models import platform_users, sellers
from amanah.users.models import users

pytestmark = pytest.mark.postgres_only
PARALLEL = 20


def all_at_once(send, count: int = PARALLEL) -> list[httpx.Response]:
    """``send(i)`` from ``count`` threads released together by a barrier."""
    barrier = threading.Barrier(count)

    def one(index: int) -> httpx.Response:
        barrier.wait()
        return send(index)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


@pytest.fixture
def shop(live_server):
    created = live_server.amanah("platforms", "create", f"Busy Bazaar {secrets.token_hex(3)}")
    assert created.returncode == 0, created.stderr
    client = httpx.Client(base_url=live_server.url, timeout=60,
                          headers={"Authorization": f"Bearer {created.stdout.strip()}"},
                          limits=httpx.Limits(max_connections=PARALLEL * 2))
    yield client
    client.close()


def rows(engine, query) -> list:
    with engine.connect() as connection:
        return connection.execute(query).all()


def test_twenty_checkouts_at_once_for_one_new_buyer_make_one_account_and_one_link(shop, engine):
    seller = shop.post("/v1/sellers", json={"platform_seller_id": "s-1", "name": "Busy Shop",
                                            "email": f"busy.seller.{secrets.token_hex(5)}@example.com"})
    assert seller.status_code == 201, seller.text
    email = f"new.buyer.{secrets.token_hex(5)}@example.com"
    buyer_ref = f"buyer-{secrets.token_hex(4)}"
    answers = all_at_once(lambda i: shop.post("/v1/trades", json={
        "out_trade_no": f"order-{i}-{secrets.token_hex(4)}", "seller_id": seller.json()["id"],
        "buyer": {"platform_user_id": buyer_ref, "email": email},
        "amount": 1000 + i, "currency": "USD", "subject": f"Order {i}"}))
    assert [answer.status_code for answer in answers] == [201] * PARALLEL, [a.text for a in answers if a.is_error]
    assert len({answer.json()["buyer"]["user_id"] for answer in answers}) == 1
    accounts = rows(engine, sa.select(users.c.id).where(users.c.email == email))
    assert len(accounts) == 1
    links = rows(engine, sa.select(platform_users.c.user_id).where(platform_users.c.platform_user_id == buyer_ref))
    assert links == [(accounts[0].id,)]


def test_twenty_registrations_at_once_of_one_new_seller_make_one_seller(shop, engine):
    email = f"new.seller.{secrets.token_hex(5)}@example.com"
    seller_ref = f"seller-{secrets.token_hex(4)}"
    answers = all_at_once(lambda i: shop.post("/v1/sellers", json={
        "platform_seller_id": seller_ref, "email": email, "name": "Racing Shop"}))
    statuses = {answer.status_code for answer in answers}
    assert statuses <= {200, 201}, [a.text for a in answers if a.is_error]
    assert len({answer.json()["id"] for answer in answers}) == 1
    assert {answer.json()["status"] for answer in answers} == {"active"}
    assert len(rows(engine, sa.select(users.c.id).where(users.c.email == email))) == 1
    assert len(rows(engine, sa.select(sellers.c.id).where(sellers.c.platform_seller_id == seller_ref))) == 1
