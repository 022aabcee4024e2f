"""Refuses text with NUL characters at the door, the same way on every database.

PostgreSQL cannot store a NUL in text (SQLite can), and no field of ours has a use for one, so
a request carrying one — raw, JSON-escaped (``\\u0000``) or URL-encoded (``%00``) in the path,
query or body — is a 400 before any code runs. A pure ASGI middleware: the body is inspected as
it streams (keeping a few bytes across chunks), never buffered whole."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from amanah.api.errors import error_response

_JSON_MARKERS = (b"\\u0000", b"\x00")
_URL_MARKERS = (b"%00", b"\x00")
_TAIL_BYTES = 5


class NulRefused(Exception):
    pass


def _has_nul(data: bytes, markers: tuple[bytes, ...] = _URL_MARKERS) -> bool:
    lowered = data.lower()
    return any(marker in lowered for marker in markers)


class RefuseNul:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _has_nul(scope.get("raw_path") or scope["path"].encode()) or _has_nul(scope.get("query_string", b"")):
            await _refuse(scope, receive, send)
            return
        content_type = dict(scope.get("headers") or []).get(b"content-type", b"")
        markers = _URL_MARKERS if content_type.startswith(b"application/x-www-form-urlencoded") else _JSON_MARKERS
        tail = b""
        started = False

        async def checked_receive() -> Message:
            nonlocal tail
            message = await receive()
            if message["type"] == "http.request":
                chunk = tail + message.get("body", b"")
                if _has_nul(chunk, markers):
                    raise NulRefused()
                tail = chunk[-_TAIL_BYTES:]
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            await self.app(scope, checked_receive, tracking_send)
        except NulRefused:
            if started:
                raise
            await _refuse(scope, receive, send)


async def _refuse(scope: Scope, receive: Receive, send: Send) -> None:
    response = error_response(400, "invalid_request", "nul_character",
                              "Text may not contain NUL characters (\\u0000).")
    await response(scope, receive, send)
