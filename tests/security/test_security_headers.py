"""Every answer carries the security headers (issue 28), walked from the apps' own routes:
``X-Content-Type-Options: nosniff`` and ``Referrer-Policy`` on all of them, JSON or HTML;
a ``Content-Security-Policy`` with ``frame-ancestors 'none'`` and ``X-Frame-Options: DENY`` on
every HTML page (cabinet, back office, sandbox pages, the demo shop); HSTS of a year or more
whenever the base URL is https, and none over plain http (a browser would then refuse the
development server)."""

from __future__ import annotations

import re
import secrets

import pytest
from fastapi.testclient import TestClient

from amanah.api.app import create_app
from amanah.api.user_auth import session_cookie_name
from amanah.core.clock import clock
from amanah.core.db import run_in_transaction
from amanah.demo_shop.app import ShopConfig, create_app as create_shop
from amanah.users import service as users
from tests.integration.backoffice.conftest import create_operator, log_in
from tests.security.test_cabinet_csrf import _walk

PARAMETER = re.compile(r"\{([^}:]+)(:[^}]+)?\}")
HSTS = re.compile(r"max-age=(\d+)")


def get_paths(app) -> list[str]:
    """Every GET route of the app, its path parameters filled with a value no row has."""
    paths = []
    for path, methods in _walk(app.routes):
        if "GET" in methods or not methods:  # mounts (static files) have no methods
            paths.append(PARAMETER.sub(lambda m: "zz_" + m.group(1), path) or "/")
    return sorted(set(paths))


def check(response, *, https: bool) -> list[str]:
    """What is missing from one answer's headers."""
    missing, headers = [], response.headers
    label = f"{response.request.method} {response.request.url.path} ({response.status_code})"
    if headers.get("x-content-type-options") != "nosniff":
        missing.append(f"{label}: no nosniff")
    if not headers.get("referrer-policy"):
        missing.append(f"{label}: no Referrer-Policy")
    hsts = HSTS.search(headers.get("strict-transport-security", ""))
    if https and (hsts is None or int(hsts.group(1)) < 365 * 24 * 3600):
        missing.append(f"{label}: no HSTS of a year")
    if not https and "strict-transport-security" in headers:
        missing.append(f"{label}: HSTS over plain http")
    if headers.get("content-type", "").startswith("text/html"):
        policy = headers.get("content-security-policy", "")
        if "frame-ancestors 'none'" not in policy or "default-src" not in policy:
            missing.append(f"{label}: HTML without a framing CSP ({policy!r})")
        if headers.get("x-frame-options") != "DENY":
            missing.append(f"{label}: HTML without X-Frame-Options")
    return missing


def walk(client, paths, *, https: bool = False) -> tuple[list[str], int]:
    missing, html_pages = [], 0
    for path in paths:
        response = client.get(path, follow_redirects=False)
        html_pages += response.headers.get("content-type", "").startswith("text/html")
        missing += check(response, https=https)
    return missing, html_pages


@pytest.fixture
def app(settings):
    return create_app(settings)


def signed_in_user(engine, client) -> None:
    def work(connection):
        user = users.register_automatically(connection, f"headers.{secrets.token_hex(5)}@example.com",
                                            now=clock.now())
        return users.start_session(connection, user.id, now=clock.now())

    session = run_in_transaction(engine, work)
    client.cookies.set(session_cookie_name(client.app.state.settings), session.session_id)


def test_every_route_answers_with_the_headers_to_a_stranger_a_user_and_an_operator(app, engine, settings):
    paths = get_paths(app)
    assert len(paths) > 40 and "/account" in paths and "/backoffice" in paths
    with TestClient(app, headers={"X-Forwarded-For": f"10.28.{secrets.randbelow(250)}.{secrets.randbelow(250)}"}) as client:
        missing, stranger_pages = walk(client, paths)
        signed_in_user(engine, client)
        more, user_pages = walk(client, paths)
        missing += more
        client.cookies.clear()
        assert log_in(client, create_operator(engine, settings)).status_code == 303
        more, operator_pages = walk(client, paths)
        missing += more
    assert not missing, "\n".join(missing)
    assert stranger_pages > 5 and user_pages > stranger_pages and operator_pages > 5  # real pages, not redirects


def test_the_sandbox_pages_and_json_errors_carry_them(client):
    for path in ("/sandbox/sandbox_acquirer/chg_nothing", "/sandbox/alphapay/" + "x" * 300, "/v1/nothing-here",
                 "/v1/me"):
        response = client.get(path)
        assert response.status_code in (401, 403, 404), path
        assert not check(response, https=False), path


def test_behind_https_every_answer_has_hsts(settings, engine):
    https = settings.model_copy(update={"base_url": "https://pay.example.com"})
    app = create_app(https)
    with TestClient(app, base_url="https://pay.example.com") as client:
        missing, html_pages = walk(client, get_paths(app), https=True)
    assert not missing, "\n".join(missing)
    assert html_pages > 5


def test_every_page_of_the_demo_shop_has_them(tmp_path):
    shop = create_shop(ShopConfig("http://127.0.0.1:9", "sk_unused", tmp_path))
    paths = [path for path in get_paths(shop) if path != "/static"] + ["/static/shop.css", "/nothing"]
    with TestClient(shop) as client:
        missing, html_pages = walk(client, paths)
        client.cookies.set("bazaar_buyer", "buyer-1|buyer@example.com")
        # Signed in, /my-amanah asks Amanah (not running here) for a log-in link: not a page.
        more, more_pages = walk(client, [path for path in paths if path != "/my-amanah"])
    assert not missing + more, "\n".join(missing + more)
    assert html_pages >= 2 and more_pages >= 2
    page = TestClient(shop).get("/sign-in")
    assert "form-action 'self' http://127.0.0.1:9" in page.headers["content-security-policy"]
