"""My account → Marketplaces: the platforms the person is linked to (as buyer or seller), the
platforms' requests to register them as a seller (accept / decline), and per platform the
switch "let <platform> sign me in" (single sign-on once the person has a password).

Each of these gives or takes a platform's rights over the account, so a session a marketplace
opened may look but not change them: it confirms it is the person first (step-up). The answers
go through the same functions as the API (``platforms.decide_seller_link``); POST → redirect →
GET, each form with the session's CSRF token."""

from __future__ import annotations

from fastapi import Form, Request

from amanah.api.routing import Router
from amanah.core.clock import clock
from amanah.core.db import run_in_transaction
from amanah.platforms import service as platforms
from amanah.web import i18n
from amanah.web.pages import CabinetRoute, check_full_csrf, redirect, render, require_user

router = Router(route_class=CabinetRoute, include_in_schema=False)

PAGE = "/account/marketplaces"


@router.get(PAGE)
def marketplaces(request: Request, notice: str = ""):
    found = require_user(request)
    with found.engine.connect() as connection:
        linked = platforms.linked_platforms(connection, found.user.id)
        links = platforms.seller_links(connection, found.user.id)
    waiting = [link for link in links if link.status is platforms.SellerStatus.PENDING]
    return render(request, "marketplaces.html", linked=linked, requests=waiting, notice=_notice(notice))


def _notice(key: str) -> str | None:
    return {
        "accepted": i18n.gettext("You are now this marketplace's seller."),
        "declined": i18n.gettext("The marketplace's request is declined."),
        "sso_allowed": i18n.gettext("This marketplace may now sign you in from its menu."),
        "sso_withdrawn": i18n.gettext("This marketplace can no longer sign you in. Its sessions were ended."),
    }.get(key)


@router.post(PAGE + "/sellers/{seller_id}/accept")
def accept(request: Request, seller_id: str, csrf_token: str = Form("", max_length=200)):
    return _decide(request, seller_id, csrf_token, accept=True)


@router.post(PAGE + "/sellers/{seller_id}/decline")
def decline(request: Request, seller_id: str, csrf_token: str = Form("", max_length=200)):
    return _decide(request, seller_id, csrf_token, accept=False)


def _decide(request: Request, seller_id: str, csrf_token: str, *, accept: bool):
    found = check_full_csrf(request, csrf_token, PAGE)
    run_in_transaction(found.engine, lambda conn: platforms.decide_seller_link(
        conn, found.user.id, seller_id[:40], accept=accept, now=clock.now()))
    return redirect(f"{PAGE}?notice={'accepted' if accept else 'declined'}")


@router.post(PAGE + "/{platform_id}/sign-in")
def sign_in_switch(request: Request, platform_id: str, csrf_token: str = Form("", max_length=200),
                   allowed: str = Form("", max_length=3)):
    """``allowed=yes`` lets the platform mint sign-on links for the person; anything else
    withdraws it (and ends the sessions it opened)."""
    found = check_full_csrf(request, csrf_token, PAGE)
    allow = allowed == "yes"
    run_in_transaction(found.engine, lambda conn: platforms.set_sso_allowed(
        conn, found.user.id, platform_id[:40], allowed=allow, now=clock.now()))
    return redirect(f"{PAGE}?notice={'sso_allowed' if allow else 'sso_withdrawn'}")
