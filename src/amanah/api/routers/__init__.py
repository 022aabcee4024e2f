"""Every domain's router, included by ``amanah.api.app``. One module per domain; add yours here."""

from fastapi import APIRouter

from amanah.api.routers import account, admin, cards, fx, mail_testmode, reports, sandbox, testmode, trades, users, wallet, webhooks
from amanah.web import routes as web_routes

ALL: list[APIRouter] = [
    users.router,
    cards.router,
    account.router,
    trades.router,
    wallet.router,
    webhooks.router,
    fx.router,
    admin.router,
    reports.router,
    testmode.router,
    mail_testmode.router,
    sandbox.router,
    web_routes.router,  # the web cabinet's pages (include_in_schema=False): last, after the API
]
