"""``api.routing.Router``: a router refuses a path none of its routes matches without asking
them, and for every request the same route answers as with FastAPI's own matching."""

from __future__ import annotations

import re

import pytest
from fastapi import APIRouter
from starlette.routing import Match

from amanah.api.routing import Router

_PARAMETER = re.compile(r"{([^}:]+)(?::([^}]+))?}")


def _routers_and_routes(router: APIRouter, routers: list, routes: list) -> None:
    routers.append(router)
    for route in router.routes:
        if hasattr(route, "original_router"):  # FastAPI's _IncludedRouter
            _routers_and_routes(route.original_router, routers, routes)
        else:
            routes.append(route)


def _tree(app) -> tuple[list, list]:
    routers, routes = [], []
    _routers_and_routes(app.router, routers, routes)
    return routers[1:], routes  # (the app's own router is FastAPI's)


def _sample_paths(routes) -> set[str]:
    """For each route, a path it matches; then near misses (a slash more or less, a segment
    more) and paths no route has."""
    paths = {"/", "/nope", "/v1", "/v1/", "/v1/nope", "/v1/trades/", "/static", "/history/x/y"}
    for route in routes:
        path = getattr(route, "path_format", None) or getattr(route, "path", "")
        sample = _PARAMETER.sub(lambda m: "a/b.css" if m.group(2) == "path" else "trd_x1", path)
        paths |= {sample, sample + "/", sample.rstrip("/") + "/extra", sample.upper()}
    return paths


def _select(app, path: str, method: str):
    """What the app's router selects for this request: (match, route's endpoint, path params)
    of the first route answering FULL, else of the first PARTIAL, as ``APIRouter.app`` does."""
    scope = {"type": "http", "path": path, "root_path": "", "method": method, "headers": [],
             "query_string": b""}
    partial = None
    for route in app.router.routes:
        match, child = route.matches(scope)
        if match is Match.FULL:
            return match, getattr(route, "endpoint", route), child.get("path_params")
        if match is Match.PARTIAL and partial is None:
            partial = (match, getattr(route, "endpoint", route), child.get("path_params"))
    return partial or (Match.NONE, None, None)


def test_every_router_of_ours_is_a_router_that_refuses_paths_early(client):
    routers, routes = _tree(client.app)
    assert len(routers) >= 15 and len(routes) >= 100
    assert all(isinstance(router, Router) for router in routers), [r for r in routers if not isinstance(r, Router)]


@pytest.mark.parametrize("method", ["GET", "POST", "PATCH"])
def test_the_same_route_answers_as_with_fastapis_own_matching(client, monkeypatch, method):
    app = client.app
    _routers, routes = _tree(app)
    paths = sorted(_sample_paths(routes))
    with_guard = {path: _select(app, path, method) for path in paths}
    monkeypatch.setattr(Router, "matches", APIRouter.matches)  # FastAPI's own, asking every route
    without_guard = {path: _select(app, path, method) for path in paths}
    assert with_guard == without_guard
    assert sum(1 for selected in with_guard.values() if selected[0] is not Match.NONE) >= 20  # not all misses


def test_a_wrong_method_a_missing_path_and_a_slash_more_answer_as_before(client):
    wrong_method = client.get("/v1/trades/trd_x1/pay")
    assert wrong_method.status_code == 405 and "POST" in wrong_method.headers["allow"]
    assert client.post("/v1/nope", json={}).status_code == 404
    assert client.get("/no/such/page").status_code == 404
    redirected = client.get("/healthz/", follow_redirects=False)
    assert redirected.status_code == 307 and redirected.headers["location"].endswith("/healthz")
