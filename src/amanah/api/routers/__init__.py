"""Every domain's router, included by ``amanah.api.app``. One module per domain; add yours here."""

from fastapi import APIRouter

ALL: list[APIRouter] = []

from amanah.api.routers import admin, testmode  # noqa: E402

ALL += [admin.router, testmode.router]
