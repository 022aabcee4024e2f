"""The sandbox connectors' pages: a 3-D Secure challenge and the e-wallets' approval page.

They stand in for the bank's and the e-wallet's own sites: the payer approves or refuses, and
is sent back to where the payment started."""

from __future__ import annotations

from datetime import datetime
from html import escape

from fastapi import Depends, Form
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.engine import Engine

from amanah.api.deps import get_engine, get_now, get_settings
from amanah.api.routing import Router
from amanah.cards import charges
from amanah.cards.connectors.sandbox import SandboxAcquirer
from amanah.core.config import Settings
from amanah.core.db import run_in_transaction

router = Router(prefix="/sandbox", tags=["sandbox"], include_in_schema=False)

_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#1b1b1b}}
.banner{{background:#fff3cd;border:1px solid #e0c36b;padding:.5rem .75rem;border-radius:.4rem}}
button{{font-size:1rem;padding:.6rem 1.2rem;margin-right:.5rem;border-radius:.4rem;border:1px solid #555;cursor:pointer}}
button.approve{{background:#1f6f43;color:#fff;border-color:#1f6f43}}</style></head>
<body><p class="banner">SANDBOX — no real money moves.</p><h1>{title}</h1>{body}</body></html>"""


def _title(connector: str) -> str:
    return "3-D Secure check" if connector == SandboxAcquirer.name else f"Pay with {connector.title()}"


@router.get("/{connector}/{charge_id}", response_class=HTMLResponse)
def challenge_page(connector: str, charge_id: str, engine: Engine = Depends(get_engine)) -> HTMLResponse:
    charge = run_in_transaction(engine, lambda c: charges.get_charge(c, charge_id))
    if charge.connector != connector:
        return HTMLResponse(_PAGE.format(title="Not found", body="<p>No such payment.</p>"), status_code=404)
    if charge.status is not charges.ChargeStatus.REQUIRES_ACTION:
        body = f"<p>This payment is already {escape(charge.status.value)}.</p>"
    else:
        body = (f"<p>Approve the payment of <strong>{escape(charge.amount.format('en'))}</strong>?</p>"
                f'<form method="post"><button class="approve" name="outcome" value="approve">Approve</button>'
                f'<button name="outcome" value="fail">Fail</button></form>')
    return HTMLResponse(_PAGE.format(title=escape(_title(connector)), body=body))


@router.post("/{connector}/{charge_id}")
def decide(connector: str, charge_id: str, outcome: str = Form(pattern="^(approve|fail)$"),
           engine: Engine = Depends(get_engine), settings: Settings = Depends(get_settings),
           now: datetime = Depends(get_now)):
    charge = charges.complete_action(engine, settings, charge_id, approved=outcome == "approve", now=now)
    if charge.return_url:
        return RedirectResponse(charge.return_url, status_code=303)
    body = f"<p>The payment {'succeeded' if charge.status is charges.ChargeStatus.SUCCEEDED else 'failed'}.</p>"
    return HTMLResponse(_PAGE.format(title=escape(_title(connector)), body=body))
