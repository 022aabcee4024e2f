"""The cabinet's routes, as one router (``api/routers/__init__.py`` includes it; not in the
OpenAPI document: these are pages, not the API)."""

from amanah.api.routing import Router
from amanah.web.routes import account, auth, backoffice, history, marketplaces, static, trades, wallet

router = Router(include_in_schema=False)
for module in (static, auth, account, marketplaces, wallet, history, trades, backoffice):
    router.include_router(module.router)
