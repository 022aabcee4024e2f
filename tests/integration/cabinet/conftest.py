"""Cabinet forms over real HTTP (the test client): a person signed in with a session cookie,
sending the forms as a browser does (the CSRF token and the form's key in hidden fields)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from amanah.core.clock import clock
from amanah.core.db import run_in_transaction
from amanah.users import service as users
from tests.integration.trades.conftest import Market, make_market

KEY = re.compile(r'name="form_key" value="([^"]+)"')


@dataclass
class Browser:
    """One person's browser: their session cookie on every request."""
    market: Market
    user_id: str
    session_id: str
    csrf_token: str

    def _headers(self) -> dict:
        return {"Cookie": f"amanah_session={self.session_id}"}

    def get(self, path: str):
        self.market.client.cookies.clear()
        return self.market.client.get(path, headers=self._headers(), follow_redirects=False)

    def keys(self, path: str) -> list[str]:
        """The form keys on the page, in order."""
        page = self.get(path)
        assert page.status_code == 200, page.text[:500]
        return KEY.findall(page.text)

    def post(self, path: str, **fields):
        self.market.client.cookies.clear()
        return self.market.client.post(path, data={"csrf_token": self.csrf_token, **fields},
                                       headers=self._headers(), follow_redirects=False)


def browser_for(market: Market, user_id: str) -> Browser:
    session = run_in_transaction(market.engine, lambda c: users.start_session(c, user_id, now=clock.now()))
    return Browser(market, user_id, session.session_id, session.csrf_token)


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"connector_timeout_s": 0.05})


@pytest.fixture
def market(client, engine) -> Market:
    return make_market(client, engine)
