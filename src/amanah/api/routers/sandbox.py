"""The sandbox connectors' pages: a 3-D Secure challenge and the e-wallets' approval page.

They stand in for the bank's and the e-wallet's own sites: the payer approves or refuses, and
is sent back to where the payment started.

Only the payer may decide (issue 28): the visitor must hold the link the payment returned
(``next_action.url``, which carries the charge's own secret), or be signed in as the buyer the
charge belongs to and send the form with their session's CSRF token. A payment is decided once;
the link then opens nothing more. Anyone else (no session, another person's session, the link
without its secret or with another charge's) is refused and nothing moves."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from html import escape

from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.engine import Engine

from amanah.api.deps import get_engine, get_now, get_settings
from amanah.api.headers import html_policy, origin
from amanah.api.routing import Router
from amanah.cards import charges
from amanah.cards.connectors.sandbox import SandboxAcquirer, action_secret
from amanah.core import limits
from amanah.core.config import Settings
from amanah.core.db import run_in_transaction
from amanah.core.errors import NotFound
from amanah.core.secrets import same_secret
from amanah.users import service as users
from amanah.web import pages

router = Router(prefix="/sandbox", tags=["sandbox"], include_in_schema=False)

_STYLE = """body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#1b1b1b}
.banner{background:#fff3cd;border:1px solid #e0c36b;padding:.5rem .75rem;border-radius:.4rem}
button{font-size:1rem;padding:.6rem 1.2rem;margin-right:.5rem;border-radius:.4rem;border:1px solid #555;cursor:pointer}
button.approve{background:#1f6f43;color:#fff;border-color:#1f6f43}"""
_STYLE_HASH = base64.b64encode(hashlib.sha256(_STYLE.encode("utf-8")).digest()).decode("ascii")

_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<style>{style}</style></head>
<body><p class="banner">SANDBOX — no real money moves.</p><h1>{title}</h1>{body}</body></html>"""


def _title(connector: str) -> str:
    return "3-D Secure check" if connector == SandboxAcquirer.name else f"Pay with {connector.title()}"


def _page(settings: Settings, title: str, body: str, *, status_code: int = 200,
          return_url: str | None = None) -> HTMLResponse:
    """The page with its own policy: the inline style by its hash, and the form may end in a
    redirect back to where the payment started."""
    policy = html_policy(origin(settings.base_url), origin(return_url or "")).replace(
        "style-src 'self'", f"style-src 'sha256-{_STYLE_HASH}'")
    return HTMLResponse(_PAGE.format(title=escape(title), style=_STYLE, body=body), status_code=status_code,
                        headers={"Content-Security-Policy": policy, "Cache-Control": "no-store"})


def _refused(settings: Settings, connector: str, status_code: int, sentence: str) -> HTMLResponse:
    return _page(settings, _title(connector), f"<p>{escape(sentence)}</p>", status_code=status_code)


def _charge(engine: Engine, connector: str, charge_id: str) -> charges.Charge | None:
    if len(charge_id) > limits.TRANSFER_ID_LENGTH_MAX:
        return None
    try:
        charge = run_in_transaction(engine, lambda c: charges.get_charge(c, charge_id))
    except NotFound:
        return None
    return charge if charge.connector == connector else None


def _holds_the_link(settings: Settings, charge: charges.Charge, secret: str | None) -> bool:
    if not secret or len(secret) > limits.SECRET_TEXT_LENGTH_MAX:
        return False
    return same_secret(secret, action_secret(settings, charge.connector, charge.id))


def _payer_session(request: Request, charge: charges.Charge) -> pages.Visitor | None:
    """The visitor, when signed in as the person the charge belongs to."""
    found = pages.visitor(request)
    return found if found.user is not None and found.user.id == charge.user_id else None


@router.get("/{connector}/{charge_id}", response_class=HTMLResponse)
def challenge_page(request: Request, connector: str, charge_id: str, secret: str | None = None,
                   engine: Engine = Depends(get_engine),
                   settings: Settings = Depends(get_settings)) -> HTMLResponse:
    charge = _charge(engine, connector, charge_id)
    if charge is None:
        return _refused(settings, connector, 404, "No such payment.")
    by_link = _holds_the_link(settings, charge, secret)
    payer = _payer_session(request, charge)
    if not by_link and payer is None:
        return _refused(settings, connector, 403, "Open this page from the link your payment gave you, "
                                                  "or sign in as the buyer first.")
    if charge.status is not charges.ChargeStatus.REQUIRES_ACTION:
        return _page(settings, _title(connector), f"<p>This payment is already {escape(charge.status.value)}.</p>")
    hidden = f'<input type="hidden" name="secret" value="{escape(secret)}">' if by_link else ""
    if payer is not None:
        hidden += f'<input type="hidden" name="{pages.CSRF_FIELD}" value="{escape(payer.csrf_token)}">'
    body = (f"<p>Approve the payment of <strong>{escape(charge.amount.format('en'))}</strong>?</p>"
            f'<form method="post" action="/sandbox/{escape(connector)}/{escape(charge.id)}">{hidden}'
            f'<button class="approve" name="outcome" value="approve">Approve</button>'
            f'<button name="outcome" value="fail">Fail</button></form>')
    return _page(settings, _title(connector), body, return_url=charge.return_url)


@router.post("/{connector}/{charge_id}")
def decide(request: Request, connector: str, charge_id: str, outcome: str = Form(pattern="^(approve|fail)$"),
           secret: str | None = Form(None), csrf_token: str | None = Form(None),
           engine: Engine = Depends(get_engine), settings: Settings = Depends(get_settings),
           now: datetime = Depends(get_now)):
    charge = _charge(engine, connector, charge_id)
    if charge is None:
        return _refused(settings, connector, 404, "No such payment.")
    presented = secret or request.query_params.get("secret")
    if not _holds_the_link(settings, charge, presented):
        payer = _payer_session(request, charge)
        if payer is None or not users.verify_csrf(payer.session_id, csrf_token):
            return _refused(settings, connector, 403, "This page may only be used by the buyer, from the link "
                                                      "their payment gave them.")
    if charge.status is not charges.ChargeStatus.REQUIRES_ACTION:
        return _refused(settings, connector, 409, f"This payment is already {charge.status.value}; "
                                                  "nothing was changed.")
    charge = charges.complete_action(engine, settings, charge_id, approved=outcome == "approve", now=now)
    if charge.return_url:
        return RedirectResponse(charge.return_url, status_code=303)
    body = f"<p>The payment {'succeeded' if charge.status is charges.ChargeStatus.SUCCEEDED else 'failed'}.</p>"
    return _page(settings, _title(connector), body)
