"""``Router``: FastAPI's ``APIRouter`` that refuses at once a path none of its routes can match.

FastAPI (0.137 and later) includes a router lazily: a request walks the routes of every included
router in turn, at a few microseconds each (FastAPI saves and restores keys of the scope around
every route's regular expression), until one matches. With the app's 130-odd routes a request
for a route near the end (the cabinet's pages, ``/readyz``) spent 200-350 µs of CPU on this
before its endpoint ran, and every 404 walked them all (issue #10). A ``Router`` knows the paths
its own routes match, as one regular expression, and answers "no match" for any other path
without asking them; for the paths it may match, FastAPI's own matching decides as before. Which
route answers, 405 for another method, slash redirects and path parameters are unchanged.

Every router of ours is a ``Router`` (a test says so)."""

from __future__ import annotations

import re

from fastapi import APIRouter
from fastapi.routing import _get_scope_included_router
from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match
from starlette.types import Scope

_NAMED_GROUP = re.compile(r"\(\?P<[^>]+>")


def paths_pattern(routes: list[BaseRoute]) -> re.Pattern | None:
    """One regular expression matching exactly the paths that one of ``routes`` matches (by
    path alone, whatever the method), or None when one of them has no path of its own to
    tell (a router included in this one: it refuses paths itself)."""
    patterns = []
    for route in routes:
        regex = getattr(route, "path_regex", None)
        if regex is None:
            return None
        patterns.append(_NAMED_GROUP.sub("(?:", regex.pattern))  # group names repeat across routes
    return re.compile("|".join(f"(?:{pattern})" for pattern in patterns)) if patterns else None


class Router(APIRouter):
    _paths: tuple[int, re.Pattern | None] = (-1, None)
    """The number of routes the pattern was made for (routes are only ever added), and it."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if len(self.routes) != self._paths[0]:
            self._paths = (len(self.routes), paths_pattern(self.routes))
        pattern = self._paths[1]
        if pattern is not None and not _included_with_prefix(scope) and not pattern.match(get_route_path(scope)):
            return Match.NONE, {}
        return super().matches(scope)


def _included_with_prefix(scope: Scope) -> bool:
    """The router being matched was included with a prefix of the includer's: its routes'
    own paths do not say which paths it matches (ours never are; FastAPI then decides alone)."""
    included = _get_scope_included_router(scope)
    return included is not None and bool(included.include_context.prefix)
