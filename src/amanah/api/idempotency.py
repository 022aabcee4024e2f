"""Idempotency keys for every POST (API.md, "Conventions"), as one ASGI middleware.

A POST carrying ``Idempotency-Key`` is run at most once per caller and key while no crash
intervenes: the first request records the key as *in flight* (with a lease), runs, then stores
its response; a repeat with the same body gets that response again (``Idempotent-Replayed:
true``), a repeat with another body is a 422 (``type: idempotency``), and a repeat while the
first is still running is a 409 (``type: conflict``).

- **Scope.** Keys belong to the caller: the SHA-256 of the ``Authorization`` header, else of the
  session cookie, else "anonymous" (where the body must match byte for byte too, and it carries
  the caller's own secrets, such as a password). One platform's key never replays another's.
  What the key answers (a stored answer, a 422, a 409) goes only to a credential that is still
  current: a user token revoked since, an ended session, a disabled platform's key get their
  401 (``callers.credential_refusal``, one look-up on a repeat), as the route would answer them.
- **Same body** means the same method, path, query and JSON (key order and spacing ignored).
- **What is stored.** Responses below 500, except 401 and 429 (``NOT_STORED_STATUSES``); a 5xx or an
  exception releases the key so that a retry runs again. The response is stored before it is
  sent, so a client that saw it always gets it again. Paths whose answers carry credentials
  (``/v1/auth/…``: access tokens, which are otherwise only stored hashed) are never stored; a
  repeat simply runs again.
- **Claimed in the endpoint.** A route may take its keys over (``claims_in_endpoint``, ``Claim``:
  the payment does): its endpoint records the key with its answer in the one statement that
  makes its change (no in-flight claim first: the change and the answer a retry gets are
  committed together), or claims the key as the middleware would before any other work.
- **Crashes.** If the process dies after the work committed but before the response was stored,
  the key stays in flight (409) until its lease (``IDEMPOTENCY_LEASE_S``) ends; then a repeat
  runs the work again. So does a connection to the database lost during COMMIT (a failover:
  ``CommitOutcomeUnknown``, 503), whose outcome nobody knows yet. So the guarantee is
  exactly-once without crashes and at-least-once with them; the domain's own guards (unique
  ``out_trade_no``, the trade state machine, unique ledger transfer ids) are what stop a second
  effect in that window. An answer stored with the change (the payment from the balance: in its
  one statement on PostgreSQL, in its transaction otherwise) has no such window.
- **Kept** ``IDEMPOTENCY_KEY_TTL_S`` (over 24 hours), then purged by ``api.purge_idempotency_keys``.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.cookies import CookieError, SimpleCookie

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from amanah.api.errors import app_error_response, error_response
from amanah.core import limits
from amanah.core.clock import clock
from amanah.core.db import (
    OnDriver, RetryTransaction, UTCDateTime, after_commit, metadata, run_autocommit, sqlstate,
)
from amanah.core.errors import AppError, CommitOutcomeUnknown

HEADER = "Idempotency-Key"
NOT_STORED_PATH_PREFIXES = ("/v1/auth/",)
"""Answers carrying credentials (access tokens, session cookies) are never written down."""
NOT_STORED_STATUSES = frozenset({401, 429})
"""A refused credential did no work and owns no key (the key's scope is that credential); a
"try later" must not stick."""
STORED_HEADERS = frozenset({b"content-type", b"location"})
"""Response headers replayed with the body (never ``set-cookie``)."""

keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("scope", sa.String(64), primary_key=True),
    sa.Column("key", sa.String(limits.IDEMPOTENCY_KEY_LENGTH_MAX), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    # In flight: response_status is NULL and lease_token names the run that holds the key.
    sa.Column("lease_token", sa.String(32), nullable=True),
    sa.Column("locked_until", UTCDateTime, nullable=True),
    sa.Column("response_status", sa.Integer, nullable=True),
    sa.Column("response_headers", sa.JSON, nullable=True),
    sa.Column("response_body", sa.LargeBinary, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Index(None, "expires_at"),
)


@dataclass(frozen=True)
class KeyedRequest:
    scope: str
    key: str
    fingerprint: str


@dataclass(frozen=True)
class Stored:
    status: int
    headers: list[list[str]]
    body: bytes


@dataclass(frozen=True)
class Proceed:
    lease_token: str


@dataclass
class Claim:
    """A keyed request to a route that claims its key itself (``claims_in_endpoint``): the
    middleware leaves the key to the endpoint, which, in its own thread, either

    - makes its change in one statement that also records the key with its answer
      (``recorded_with``, bound by ``answer_values``; that statement fails whole where the key
      is there already: ``taken``), and then says so (``stored = True``), or
    - calls ``begin`` before any other work: the key claimed as the middleware claims it, or the
      answer to send instead (the stored one, replayed, or a refusal), which it returns; then it
      may store its answer in the transaction that makes its change (``store_in``).

    Without an in-flight claim first, a new key costs no statement of its own, and the change
    and the answer a retry gets are committed together. What the endpoint answers without
    either (a refused credential, an invalid body) is judged by the middleware afterwards, as
    if the key had been claimed first: nothing was changed."""
    request: KeyedRequest
    decision: Proceed | Refuse | Stored | None = None
    stored: bool = False

    def begin(self, engine: Engine) -> Response | None:
        self.decision = begin(engine, self.request, clock.now())
        return None if isinstance(self.decision, Proceed) else _answer_for(self.decision)

    def store_in(self, connection: Connection, json_body: bytes) -> None:
        """After ``begin``: stores the answer (200, JSON) in the caller's transaction, the one
        that makes the change, so that the two are committed together (then ``stored``) or not
        at all."""
        response = Stored(200, JSON_HEADERS, json_body)
        connection.execute(_STORE, _storing(self.request, self.decision.lease_token, response))
        after_commit(connection, self._committed)

    def _committed(self) -> None:
        self.stored = True

    def answer_values(self, json_body: bytes, now: datetime) -> dict:
        """``recorded_with``'s values: the key, new, with this answer (200, JSON)."""
        answered = {"response_status": 200, "response_headers": json.dumps(JSON_HEADERS), "response_body": json_body}
        return {f"answer_{name}": value for name, value in (_new_key(self.request, now) | answered).items()}


JSON_HEADERS = [["content-type", "application/json"]]
"""The stored headers of a JSON answer."""


CLAIM = "amanah.idempotency_claim"
"""Where the middleware leaves the ``Claim`` in the request's scope."""

_CLAIMED_IN_ENDPOINT: list[re.Pattern] = []


def claims_in_endpoint(path_regex: re.Pattern) -> None:
    """POSTs to paths this regular expression matches (a route's own ``path_regex``) claim
    their keys in the endpoint (``Claim``): called by the router that serves them, whose
    endpoint must follow ``Claim``'s rules."""
    _CLAIMED_IN_ENDPOINT.append(path_regex)


def claim_of(scope: Scope) -> Claim | None:
    """The key this request came with, for a route that claims it in the endpoint."""
    return scope.get(CLAIM)


_RECORDED = ("scope", "key", "fingerprint", "response_status", "response_headers", "response_body", "created_at",
             "expires_at")


def recorded_with(guard: sa.CTE) -> sa.CTE:
    """PostgreSQL: the key recorded with its answer by a CTE of the caller's statement that
    writes its change in the CTE ``guard`` (one row, or none): only when the guard wrote its
    row. A key already there (or being recorded by another request) makes the whole statement
    fail (``taken``), so that nothing of it is written. Bound by ``Claim.answer_values`` (the
    values go to the driver as they are: the headers as JSON text)."""
    values = [sa.bindparam(f"answer_{name}", type_=keys.c[name].type).label(name) for name in _RECORDED]
    recorded = keys.insert().from_select(list(_RECORDED), sa.select(*values).select_from(guard))
    return recorded.returning(keys.c.key).cte("answered")


def taken(error: DBAPIError) -> bool:
    """The statement of ``recorded_with`` failed because the key is there already."""
    constraint = getattr(getattr(error.orig, "diag", None), "constraint_name", None)
    return sqlstate(error) == "23505" and constraint == "pk_idempotency_keys"


def _answer_for(decision: Stored | Refuse) -> Response:
    if isinstance(decision, Refuse):
        # A key in flight: the first request will answer soon, and a retry then gets its answer.
        retry_after_s = limits.IDEMPOTENCY_IN_FLIGHT_RETRY_AFTER_S if decision.status == 409 else None
        return error_response(decision.status, decision.type, decision.code, decision.message, HEADER,
                              retry_after_s=retry_after_s)
    headers = {name: value for name, value in decision.headers} | {"idempotent-replayed": "true"}
    return Response(decision.body, status_code=decision.status, headers=headers)


@dataclass(frozen=True)
class Refuse:
    status: int
    type: str
    code: str
    message: str


def install(app) -> None:
    """The middleware, and the ``Idempotency-Key`` header in the OpenAPI of every POST."""
    app.add_middleware(IdempotencyMiddleware)
    build_openapi = app.openapi

    def openapi() -> dict:
        schema = build_openapi()  # FastAPI builds it once and caches it; we add to it once
        if not schema.get("x-amanah-idempotency"):
            _document(schema)
            schema["x-amanah-idempotency"] = True
        return schema

    app.openapi = openapi


_HEADER_DOC = {
    "name": HEADER, "in": "header", "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": limits.IDEMPOTENCY_KEY_LENGTH_MAX},
    "description": "Makes the request safe to retry: a repeat with the same key and body returns the first "
                   "response (with `Idempotent-Replayed: true`); another body is a 422, a repeat while the "
                   "first is running a 409. Kept at least 24 hours, per caller.",
}


def _document(schema: dict) -> None:
    for path, operations in schema.get("paths", {}).items():
        post = operations.get("post")
        if post is None or path.startswith(NOT_STORED_PATH_PREFIXES):
            continue
        post.setdefault("parameters", []).append(dict(_HEADER_DOC))
        responses = post.setdefault("responses", {})
        responses.setdefault("409", {"description": "A request with this Idempotency-Key is still running."})
        responses.setdefault("422", {"description": "This Idempotency-Key was used with another request."})


# --- the store -----------------------------------------------------------------------------
# Each call is a few statements in autocommit (``run_autocommit``), not a transaction: a new
# key is one INSERT (one round trip), storing the answer one UPDATE. Every write says what it
# expects to find (no row, the lease it read, the expiry it read), so concurrent requests with
# one key cannot both proceed, and a write lost with its connection (the call runs again) is
# recognised by its lease token.

BEGIN_PASSES_MAX = 3
"""Looks at a key that changed under us (released, expired, taken over) before calling it
contention (``RetryTransaction``: ``run_autocommit`` runs the whole call again, backing off)."""


def _claim(connection: Connection, request: KeyedRequest, lease: dict, now: datetime) -> bool:
    """The key recorded as in flight for this run, if nobody holds it: one statement."""
    values = _new_key(request, now) | lease
    if connection.dialect.name == "postgresql":  # every keyed POST: on the driver (issue #10)
        return bool(_CLAIM_ON_DRIVER.execute(connection, values))
    return connection.execute(_CLAIM["sqlite"], values).first() is not None


def _new_key(request: KeyedRequest, now: datetime) -> dict:
    return {"scope": request.scope, "key": request.key, "fingerprint": request.fingerprint, "created_at": now,
            "expires_at": now + timedelta(seconds=limits.IDEMPOTENCY_KEY_TTL_S)}


def _decide(connection: Connection, request: KeyedRequest, lease: dict,
            now: datetime) -> Proceed | Refuse | Stored | None:
    """What to do with the key another run recorded; None: it changed meanwhile, try again."""
    where = sa.and_(keys.c.scope == request.scope, keys.c.key == request.key)
    row = connection.execute(sa.select(keys).where(where)).first()
    if row is None:
        return None  # released (a 5xx) or purged since our INSERT
    if row.lease_token == lease["lease_token"]:
        return Proceed(row.lease_token)  # our own INSERT, whose answer was lost with its connection
    if row.expires_at <= now:
        # Kept long enough: the key is free again (a row made anew meanwhile is not expired).
        connection.execute(keys.delete().where(where, keys.c.expires_at <= now))
        return None
    if row.fingerprint != request.fingerprint:
        return Refuse(422, "idempotency", "idempotency_key_reused",
                      f"This {HEADER} was already used with a different request; use a new key for a new request.")
    if row.response_status is not None:
        return Stored(row.response_status, row.response_headers or [], row.response_body or b"")
    if row.locked_until > now:
        return Refuse(409, "conflict", "idempotency_key_in_use",
                      f"A request with this {HEADER} is still being processed; retry in a moment.")
    # The first run's lease ran out (its process died): this repeat runs the request again,
    # unless another repeat took the lease over, or the first run finished, since we looked.
    taken = connection.execute(keys.update().where(where, keys.c.lease_token == row.lease_token,
                                                   keys.c.response_status.is_(None)).values(**lease))
    return Proceed(lease["lease_token"]) if taken.rowcount == 1 else None


def _begin(connection: Connection, request: KeyedRequest, lease: dict, now: datetime) -> Proceed | Refuse | Stored:
    for _ in range(BEGIN_PASSES_MAX):
        if _claim(connection, request, lease, now):
            return Proceed(lease["lease_token"])
        decision = _decide(connection, request, lease, now)
        if decision is not None:
            return decision
    raise RetryTransaction


def begin(engine: Engine, request: KeyedRequest, now: datetime) -> Proceed | Refuse | Stored:
    """Records the key as in flight for this run (``Proceed``), or says what to answer instead:
    the stored response, a 422 (another request) or a 409 (still running). A new key costs one
    statement."""
    lease = {"lease_token": secrets.token_hex(16),
             "locked_until": now + timedelta(seconds=limits.IDEMPOTENCY_LEASE_S)}
    return run_autocommit(engine, lambda connection: _begin(connection, request, lease, now))


def finish(engine: Engine, request: KeyedRequest, lease_token: str, response: Stored | None) -> None:
    """Stores the response, or (``None``) releases the key so that a repeat runs again, in one
    statement. A run whose lease was taken over stores nothing: the run that took it over answers."""
    if response is None:
        statement, values = _RELEASE, _ours(request, lease_token)
    else:
        statement, values = _STORE, _storing(request, lease_token, response)
    run_autocommit(engine, lambda connection: connection.execute(statement, values))


def _ours(request: KeyedRequest, lease_token: str) -> dict:
    return {"our_scope": request.scope, "our_key": request.key, "our_lease_token": lease_token}


def _storing(request: KeyedRequest, lease_token: str, response: Stored) -> dict:
    return {**_ours(request, lease_token), "response_status": response.status, "response_headers": response.headers,
            "response_body": response.body, "lease_token": None, "locked_until": None}


# The hot statements, built once and bound per call: building one costs more Python than its
# round trip.
_CLAIM = {dialect: insert(keys).on_conflict_do_nothing(index_elements=[keys.c.scope, keys.c.key]).returning(keys.c.key)
          for dialect, insert in (("postgresql", postgresql_insert), ("sqlite", sqlite_insert))}
_CLAIM_ON_DRIVER = OnDriver(_CLAIM["postgresql"].values(
    {name: sa.bindparam(name, type_=keys.c[name].type)
     for name in ("scope", "key", "fingerprint", "lease_token", "locked_until", "created_at", "expires_at")}))
_OURS = sa.and_(keys.c.scope == sa.bindparam("our_scope"), keys.c.key == sa.bindparam("our_key"),
                keys.c.lease_token == sa.bindparam("our_lease_token"))
_RELEASE = keys.delete().where(_OURS)
_STORE = keys.update().where(_OURS)


def purge_expired(connection: Connection, *, now: datetime, limit: int = limits.IDEMPOTENCY_PURGE_BATCH_MAX) -> int:
    expired = (sa.select(keys.c.scope, keys.c.key).where(keys.c.expires_at <= now).limit(limit)
               .with_for_update(skip_locked=True))
    pairs = [tuple(row) for row in connection.execute(expired)]
    if pairs:
        connection.execute(keys.delete().where(sa.tuple_(keys.c.scope, keys.c.key).in_(pairs)))
    return len(pairs)


# --- the request ---------------------------------------------------------------------------

def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


def caller_scope(scope: Scope, session_cookie: str) -> str:
    """Whose key this is: a hash of the credential, so keys of different callers never meet."""
    authorization = _header(scope, b"authorization")
    if authorization and authorization.strip():
        caller = "authorization:" + authorization.strip()
    else:
        caller = "anonymous"
        try:
            morsel = SimpleCookie(_header(scope, b"cookie") or "").get(session_cookie)
        except CookieError:
            morsel = None
        if morsel is not None and morsel.value:
            caller = "session:" + morsel.value
    return hashlib.sha256(caller.encode("utf-8")).hexdigest()


def fingerprint(scope: Scope, body: bytes) -> str:
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode("utf-8")
    except ValueError:  # not JSON (or empty): compare the bytes
        canonical = body
    digest = hashlib.sha256()
    for part in (scope["method"].encode(), scope["path"].encode("utf-8"), scope.get("query_string", b""), canonical):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def _key_problem(key: str) -> str | None:
    if not 1 <= len(key) <= limits.IDEMPOTENCY_KEY_LENGTH_MAX:
        return f"The {HEADER} header is 1 to {limits.IDEMPOTENCY_KEY_LENGTH_MAX} characters."
    if not key.isascii() or not key.isprintable():
        return f"The {HEADER} header takes printable ASCII characters only (a UUID is a good key)."
    return None


class _TooLarge(Exception):
    pass


async def _read_body(receive: Receive) -> bytes:
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ConnectionAbortedError("the client went away before sending the whole body")
        body += message.get("body", b"")
        if len(body) > limits.IDEMPOTENCY_REQUEST_BYTES_MAX:
            raise _TooLarge
        if not message.get("more_body", False):
            return body


def _replaying(body: bytes, receive: Receive) -> Receive:
    """The body already read, then whatever the client sends next (a disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class _Buffer:
    """Holds the inner app's response so that it is stored before the client sees it."""

    def __init__(self) -> None:
        self.status = 500
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = b""

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status, self.headers = message["status"], list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")

    def storable(self) -> Stored | None:
        if self.status >= 500 or self.status in NOT_STORED_STATUSES or len(self.body) > limits.IDEMPOTENCY_RESPONSE_BYTES_MAX:
            return None
        kept = [[name.decode("latin-1"), value.decode("latin-1")] for name, value in self.headers
                if name.lower() in STORED_HEADERS]
        return Stored(self.status, kept, self.body)

    def commit_outcome_unknown(self) -> bool:
        """The database connection was lost during COMMIT (``CommitOutcomeUnknown``)."""
        if self.status != CommitOutcomeUnknown.http_status:
            return False
        try:
            return json.loads(self.body)["error"]["code"] == CommitOutcomeUnknown.code
        except (ValueError, KeyError, TypeError):
            return False

    async def replay_to(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        await send({"type": "http.response.body", "body": self.body})


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = _header(scope, HEADER.lower().encode()) if scope["type"] == "http" else None
        if key is None or scope["method"] != "POST" or scope["path"].startswith(NOT_STORED_PATH_PREFIXES):
            await self.app(scope, receive, send)
            return
        problem = _key_problem(key)
        if problem is not None:
            await error_response(400, "invalid_request", "invalid_idempotency_key", problem, HEADER)(scope, receive, send)
            return
        try:
            body = await _read_body(receive)
        except ConnectionAbortedError:
            return  # nobody is left to answer, and nothing was run
        except _TooLarge:
            message = f"A request with an {HEADER} is at most {limits.IDEMPOTENCY_REQUEST_BYTES_MAX} bytes."
            await error_response(413, "invalid_request", "request_too_large", message)(scope, receive, send)
            return
        await self._run_once(scope, _replaying(body, receive), send, key, body)

    async def _run_once(self, scope: Scope, receive: Receive, send: Send, key: str, body: bytes) -> None:
        from amanah.api.user_auth import session_cookie_name  # the users router's cookie name

        app = scope["app"]
        engine = app.state.engine
        request = KeyedRequest(caller_scope(scope, session_cookie_name(app.state.settings)), key,
                               fingerprint(scope, body))
        if any(pattern.fullmatch(scope["path"]) for pattern in _CLAIMED_IN_ENDPOINT):
            await self._run_claimed_in_endpoint(scope, receive, send, engine, request)
            return
        decision = await run_in_threadpool(begin, engine, request, clock.now())
        if not isinstance(decision, Proceed):
            await (await _answer_before_running(scope, decision))(scope, receive, send)
            return
        buffer = _Buffer()
        try:
            await self.app(scope, receive, buffer.send)
        except BaseException:
            await run_in_threadpool(finish, engine, request, decision.lease_token, None)
            raise
        await _finish(engine, request, decision, buffer)
        await buffer.replay_to(send)

    async def _run_claimed_in_endpoint(self, scope: Scope, receive: Receive, send: Send, engine: Engine,
                                       request: KeyedRequest) -> None:
        claim = scope[CLAIM] = Claim(request)
        buffer = _Buffer()
        try:
            await self.app(scope, receive, buffer.send)
        except BaseException:
            if isinstance(claim.decision, Proceed) and not claim.stored:
                await run_in_threadpool(finish, engine, request, claim.decision.lease_token, None)
            raise
        if claim.stored:
            pass  # with the change
        elif isinstance(claim.decision, Proceed):
            await _finish(engine, request, claim.decision, buffer)
        elif claim.decision is None and buffer.status < 500 and buffer.status != 401:
            # Answered without the key (so without a change): judged now, as if claimed first.
            # (A 5xx is not stored, and the database is likely why: it goes out as it is. A 401
            # too: the endpoint refused the credential the key belongs to, which owns no key.)
            try:
                decision = await run_in_threadpool(begin, engine, request, clock.now())
            except (AppError, DBAPIError):  # the database may be why it answered so: sent unstored, as a 5xx is
                decision = None
            if isinstance(decision, Proceed):
                await run_in_threadpool(finish, engine, request, decision.lease_token, buffer.storable())
            elif decision is not None:
                await (await _answer_before_running(scope, decision))(scope, receive, send)
                return
        # else answered from the key (``Claim.begin``)
        await buffer.replay_to(send)


async def _answer_before_running(scope: Scope, decision: Refuse | Stored) -> Response:
    """What the middleware answers from the key, the route's credential check not having run:
    the stored answer, the 422 or the 409 goes only to a caller whose credential is still
    current, else the refusal the route would give (a token revoked since gets its 401, not the
    answer it was given before). One look-up, on a repeat only."""
    from amanah.api.callers import credential_refusal  # (imports the routers' authentication)

    state = scope["app"].state
    refusal = await run_in_threadpool(credential_refusal, state.engine, state.settings, Request(scope))
    return _answer_for(decision) if refusal is None else app_error_response(refusal)


async def _finish(engine: Engine, request: KeyedRequest, decision: Proceed, buffer: _Buffer) -> None:
    """Stores the answer of a run that held the key, or releases the key (a 5xx)."""
    if not buffer.commit_outcome_unknown():
        await run_in_threadpool(finish, engine, request, decision.lease_token, buffer.storable())
    # else the key stays in flight, as after a crash: releasing it would let a retry run the
    # work again right away when it may have committed; after the lease the domain's guards
    # find the first run's effect.
