"""Security headers on every response, in one place (issue 28).

- ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy`` on every answer, JSON or HTML: a
  browser never guesses a JSON error body to be a page, and no link token in a URL travels to
  another site in a ``Referer``.
- ``Strict-Transport-Security`` whenever the server's public base URL is https: once a browser
  has seen the site over TLS, it never talks to it in clear again (a year at least).
- On every HTML page, a ``Content-Security-Policy`` with ``frame-ancestors 'none'`` (and
  ``X-Frame-Options: DENY`` for older browsers), so no other site can frame a page and trick a
  click on its buttons. A page that needs more (the sandbox's inline style, a form whose answer
  redirects to another site) sets its own policy, which is kept; every other HTML page gets the
  strict default below.

A pure ASGI middleware: it only adds headers to ``http.response.start`` and never reads bodies.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from amanah.core import limits

REFERRER_POLICY = "same-origin"


def html_policy(*form_targets: str) -> str:
    """The default policy of an HTML page: our own files only, no framing; forms may post to
    this site and to ``form_targets`` (origins their answers redirect to: Chromium checks
    ``form-action`` on each redirect of a form submission too)."""
    targets = " ".join(dict.fromkeys(target for target in form_targets if target))
    form_action = f"'self' {targets}".strip()
    return ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            f"form-action {form_action}; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")


def origin(url: str) -> str:
    """``scheme://host[:port]`` of a URL, or "" when it has none."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


class SecurityHeaders:
    """Adds the headers above to every HTTP response; headers a route set itself are kept."""

    def __init__(self, app: ASGIApp, *, base_url: str, form_targets: tuple[str, ...] = ()) -> None:
        self.app = app
        common = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", REFERRER_POLICY.encode())]
        if urlsplit(base_url).scheme == "https":
            common.append((b"strict-transport-security",
                           f"max-age={limits.HSTS_MAX_AGE_S}; includeSubDomains".encode()))
        self.common = common
        self.html = [(b"content-security-policy", html_policy(origin(base_url), *form_targets).encode()),
                     (b"x-frame-options", b"DENY")]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = self.added(list(message.get("headers") or []))
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def added(self, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        present = {name.lower() for name, _ in headers}
        content_type = next((value for name, value in headers if name.lower() == b"content-type"), b"")
        wanted = list(self.common)
        if content_type.lower().startswith(b"text/html"):
            wanted += self.html
        return headers + [(name, value) for name, value in wanted if name not in present]
