"""The wind-down notice: once per user holding money, per wind-down, however many workers."""

from __future__ import annotations

import secrets
import threading

import pytest
import sqlalchemy as sa

from amanah.closure import notices
from amanah.core.clock import clock
from amanah.core.db import run_in_transaction
from amanah.mail.models import outbox
from tests.integration.wind_down.conftest import register, set_mode


def notices_to(engine, user_id: str) -> int:
    with engine.connect() as connection:
        email = connection.execute(sa.text("SELECT email FROM users WHERE id = :id"), {"id": user_id}).scalar_one()
        return connection.execute(sa.select(sa.func.count()).select_from(outbox).where(
            outbox.c.to_address == email, outbox.c.template == notices.TEMPLATE)).scalar_one()


def run_job(engine) -> int:
    return run_in_transaction(engine, lambda c: notices.send_due(c, now=clock.now()))


class TestTheNotice:
    def test_users_holding_money_are_told_once_and_others_not_at_all(self, market, wind_down, engine):
        holder, _ = register(market.client)
        market.fund(holder, 700)
        trade, _buyer = market.paid_trade(900)  # the seller has money held for them
        empty, _ = register(market.client)
        assert run_job(engine) == 0, "nothing is sent in normal mode"
        wind_down()
        while run_job(engine):
            pass
        run_job(engine)  # a restart, a second worker: nothing more
        assert notices_to(engine, holder) == 1
        assert notices_to(engine, trade["buyer"]["user_id"]) == 1
        assert notices_to(engine, market.seller["user_id"]) == 1
        assert notices_to(engine, empty) == 0
        shown = market.client.get("/v1/admin/service-mode", headers=market.as_operator).json()
        assert shown["notices_sent"] >= 3

    def test_a_user_paid_after_the_switch_is_told_on_the_next_run(self, market, wind_down, engine):
        wind_down()
        while run_job(engine):
            pass
        late, _ = register_before(market, engine)
        market.fund(late, 100)
        sent = 0
        while queued := run_job(engine):  # the session's database holds other tests' users too
            sent += queued
        assert sent >= 1 and notices_to(engine, late) == 1

    def test_a_new_wind_down_after_reopening_tells_them_again(self, market, wind_down, engine):
        holder, _ = register(market.client)
        market.fund(holder, 100)
        wind_down()
        while run_job(engine):
            pass
        set_mode(engine, "normal")
        wind_down()
        while run_job(engine):
            pass
        assert notices_to(engine, holder) == 2

    def test_the_mail_is_in_the_users_language(self, market, wind_down, engine):
        email = f"ru.reader.{secrets.token_hex(4)}@example.com"
        user = market.client.post("/v1/users", json={"email": email, "locale": "ru",
                                                     "password": "correct horse battery staple", "name": "Иван"})
        market.fund(user.json()["id"], 100, "RUB")
        wind_down()
        market.advance(60)  # the jobs run: the notice is queued ...
        market.advance(60)  # ... and delivered, whichever job ran first
        sent = market.client.get("/v1/test/outbox/mail", headers=market.as_operator).json()["data"]
        mine = [m["subject"] for m in sent if m["to"] == email]
        assert any("выведите баланс" in subject for subject in mine), mine


def register_before(market, engine):
    set_mode(engine, "normal")
    user = register(market.client)
    set_mode(engine, "wind_down")
    return user


@pytest.mark.postgres_only
class TestRacingWorkers:
    def test_eight_workers_send_each_notice_once(self, market, wind_down, engine):
        holders = [register(market.client)[0] for _ in range(12)]
        for user_id in holders:
            market.fund(user_id, 100)
        wind_down()
        barrier = threading.Barrier(8)
        errors = []

        def worker():
            try:
                barrier.wait()
                while run_job(engine):
                    pass
            except Exception as error:  # pragma: no cover - reported below
                errors.append(error)

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors
        assert [notices_to(engine, user_id) for user_id in holders] == [1] * 12
