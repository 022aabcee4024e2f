"""Every state-changing cabinet route, listed from the app itself, refuses a forged request: a
signed-in form without the session's CSRF token, and a pre-sign-in form sent from another site."""

from __future__ import annotations

import secrets

import pytest

from amanah.api.app import create_app
from amanah.api.user_auth import session_cookie_name
from amanah.core.clock import clock
from amanah.core.db import run_in_transaction
from amanah.users import service as users

NOT_CABINET = ("/v1/", "/sandbox/", "/openapi", "/docs", "/metrics", "/healthz", "/readyz")
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


def _walk(routes, prefix: str = ""):
    """Every route, through included routers (FastAPI keeps them nested)."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            context = getattr(route, "include_context", None)
            yield from _walk(included.routes, prefix + (getattr(context, "prefix", "") or ""))
        else:
            yield prefix + getattr(route, "path", ""), getattr(route, "methods", None) or set()


def cabinet_routes() -> list[tuple[str, str]]:
    from amanah.core.config import Settings

    app = create_app(Settings(env="test", captcha="test", data_dir="/tmp/amanah-csrf-routes"))
    found = []
    for path, methods in _walk(app.routes):
        if path.startswith(NOT_CABINET):
            continue
        found += [(method, path) for method in sorted(methods & STATE_CHANGING)]
    return found


ROUTES = cabinet_routes()


def test_the_cabinet_has_state_changing_routes_to_check():
    assert len(ROUTES) >= 10, ROUTES


@pytest.mark.parametrize("method, path", ROUTES)
def test_a_forged_request_changes_nothing(client, engine, method, path):
    def work(connection):
        user = users.register_automatically(connection, f"csrf.{secrets.token_hex(6)}@example.com", now=clock.now())
        return users.start_session(connection, user.id, now=clock.now())

    session = run_in_transaction(engine, work)
    session_id = getattr(session, "session_id", None) or getattr(session, "id", None) or session
    client.cookies.set(session_cookie_name(client.app.state.settings), str(session_id))
    if path.startswith("/backoffice/"):  # the back office's forms: signed in there too, so only CSRF is judged
        from amanah.web.routes import backoffice

        client.cookies.set(backoffice.cookie_name(client.app.state.settings), _operator_session(client, engine))
    concrete = path.replace("{", "").replace("}", "")  # any id: the check must come before the lookup
    response = client.request(method, concrete, data={"anything": "1"}, follow_redirects=False,
                              headers={"Origin": "https://evil.example", "Referer": "https://evil.example/x"})
    client.cookies.clear()
    refused = {400, 403} | ({404} if "{" in path else set())  # a made-up id may be "not found" first
    assert response.status_code in refused, (method, path, response.status_code)


def _operator_session(client, engine) -> str:
    from amanah.operators import service as operators

    def work(connection):
        made = operators.create_account(connection, client.app.state.settings,
                                        email=f"csrf.{secrets.token_hex(6)}@example.com", now=clock.now())
        return operators.start_session(connection, made.account.id, user_agent=None, now=clock.now()).session_id

    return run_in_transaction(engine, work)
