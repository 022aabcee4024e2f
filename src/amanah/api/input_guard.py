"""Checks every request at the door: a body size limit, no NUL characters anywhere, and no JSON
that only Python's parser takes.

PostgreSQL cannot store a NUL in text (SQLite can), and no field of ours has a use for one, so
a request carrying one — raw, JSON-escaped (``\\u0000``) or URL-encoded (``%00``) in the path,
query or body — is a 400 (``nul_character``) before any code runs, the same on both databases.
The body is read whole first (it is small: at most ``REQUEST_BODY_BYTES_MAX``, else 413) and
handed on unchanged.

A JSON body that parses must be standard JSON: ``NaN`` and ``Infinity`` are not JSON numbers
(Python's parser takes them, and an amount would reach the code as a float), and nesting so
deep that the parser gives up (``RecursionError``) is refused here as ``invalid_json`` rather
than failing later as a 500. Malformed JSON is left to the app, which says what is wrong."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from amanah.api.errors import error_response
from amanah.core import limits

_JSON_MARKERS = (b"\\u0000", b"\x00")
_URL_MARKERS = (b"%00", b"\x00")


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
        body, complete = await _read_body(receive)
        if not complete:
            await error_response(413, "invalid_request", "body_too_large",
                                 f"The request body is over {limits.REQUEST_BODY_BYTES_MAX} bytes.")(scope, receive, send)
            return
        content_type = dict(scope.get("headers") or []).get(b"content-type", b"")
        markers = _URL_MARKERS if content_type.startswith(b"application/x-www-form-urlencoded") else _JSON_MARKERS
        if _has_nul(body, markers):
            await _refuse(scope, receive, send)
            return
        if (problem := _non_standard_json(body, content_type)) is not None:
            await error_response(400, "invalid_request", "invalid_json", problem)(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)


class _NotJson(ValueError):
    pass


def _no_constant(name: str):
    raise _NotJson(name)


def _non_standard_json(body: bytes, content_type: bytes) -> str | None:
    """Why a JSON body that Python would parse is not JSON, or None."""
    media_type = content_type.split(b";", 1)[0].strip().lower()
    if not body or not (media_type == b"application/json" or media_type.endswith(b"+json")):
        return None
    try:
        json.loads(body, parse_constant=_no_constant)
    except _NotJson as constant:
        return f"{constant} is not a JSON number."
    except RecursionError:
        return "The JSON is nested too deeply."
    except ValueError:
        return None  # malformed: the app's own parser explains where
    return None


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), True  # the client went away; the app will see it too
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limits.REQUEST_BODY_BYTES_MAX:
            return b"", False
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), True


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: wait for the disconnect, as Starlette expects

    return replayed


async def _refuse(scope: Scope, receive: Receive, send: Send) -> None:
    await error_response(400, "invalid_request", "nul_character",
                         "Text may not contain NUL characters (\\u0000).")(scope, receive, send)
