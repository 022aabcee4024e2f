"""Every domain's router, included by ``amanah.api.app``. One module per domain; add yours here."""

from fastapi import APIRouter

from amanah.api.routers import admin, cards, fx, mail_testmode, sandbox, testmode, trades, users, webhooks

ALL: list[APIRouter] = [
    users.router,
    cards.router,
    trades.router,
    webhooks.router,
    fx.router,
    admin.router,
    testmode.router,
    mail_testmode.router,
    sandbox.router,
]
