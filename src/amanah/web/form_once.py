"""Money forms that are safe to repeat: a reload, a double click, back and submit again do it once.

Every money form (top-up, withdrawal, payment, confirm receipt, dispute, mark shipped) carries a
key minted when the form is rendered (the hidden field ``form_key``). Its POST runs through
``once``, which uses the API's idempotency store (``api.idempotency``: the same table, lease and
expiry) rather than a mechanism of its own:

- the first POST with a key claims it (in flight), does the work and answers with a redirect to
  a page that shows the outcome (POST → redirect → GET, so a reload reloads the GET);
- a repeat with the key gets that same redirect, whatever it carries (the key names one form as
  rendered: a key is used once, for the first thing sent with it);
- a repeat while the first is still running (the second click of a double click) waits for the
  first's answer and gives it, or, if that takes too long, a page saying it is still running;
- an answer that is not a redirect (the form again, with what was wrong) releases the key: the
  form shown again carries a new one, and nothing was done.

Keys are scoped to the signed-in user (and to the cabinet: never the same scope as an API
caller's), so a key seen in another person's page is of no use to anyone else. The form pages are
sent ``private, no-cache`` (``cacheable_form``) so that the browser's back button shows the form
as it was, with the key already used, instead of fetching a new form with a new key; their forms
post to another URL than the page's (``/account/withdraw/send``), because a POST to a URL drops
the browser's stored copy of that URL."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

from fastapi import Response

from amanah.api import idempotency
from amanah.core import limits
from amanah.core.clock import clock
from amanah.core.errors import AppError
from amanah.web.pages import FORM_KEY_FIELD, FormExpired, Visitor, new_form_key, redirect

FIELD = FORM_KEY_FIELD
WAIT_FOR_FIRST_S = 20.0
"""How long a repeat waits for the run that holds its key (a double click's first click)."""
POLL_S = 0.1


class StillRunning(AppError):
    type, code, http_status = "conflict", "form_still_running", 409


mint = new_form_key


def cacheable_form(response: Response) -> Response:
    """A money form page the browser may keep for its back button (never shared caches): going
    back shows the form that was sent, with its used key, so sending it again does nothing new."""
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def _keyed(found: Visitor, key: str, form: str) -> idempotency.KeyedRequest:
    if not 1 <= len(key) <= limits.IDEMPOTENCY_KEY_LENGTH_MAX or not key.isascii() or not key.isprintable():
        raise FormExpired("This form has expired; reload the page and try again.")
    scope = hashlib.sha256(f"cabinet-form:{found.user.id}".encode()).hexdigest()
    return idempotency.KeyedRequest(scope, key, hashlib.sha256(form.encode()).hexdigest())


def record_id(prefix: str, found: Visitor, key: str) -> str:
    """The id of the record (a top-up, a withdrawal) this form makes: the same for every run of
    one key, so a run again after a crash finds the first run's record instead of making another."""
    from amanah.core import ids

    return ids.derived_id(prefix, found.user.id, "cabinet-form", key.strip())


def once(found: Visitor, key: str, form: str, work: Callable[[], Response]) -> Response:
    """Runs ``work`` once per key (``form`` names the form: a key is good for that form only)."""
    request = _keyed(found, key.strip(), form)
    deadline = time.monotonic() + WAIT_FOR_FIRST_S
    while True:
        decision = idempotency.begin(found.engine, request, clock.now())
        if isinstance(decision, idempotency.Stored):
            location = dict((name.lower(), value) for name, value in decision.headers).get("location", "/account")
            return redirect(location)
        if isinstance(decision, idempotency.Proceed):
            break
        if decision.status != 409:  # the key was made for another form
            raise FormExpired("This form has expired; reload the page and try again.")
        if time.monotonic() >= deadline:
            raise StillRunning("This is still being processed. Look at your payment history in a moment.")
        time.sleep(POLL_S)
    try:
        response = work()
    except BaseException:
        idempotency.finish(found.engine, request, decision.lease_token, None)
        raise
    location = response.headers.get("location") if response.status_code == 303 else None
    stored = idempotency.Stored(303, [["location", location]], b"") if location else None
    idempotency.finish(found.engine, request, decision.lease_token, stored)
    return response
