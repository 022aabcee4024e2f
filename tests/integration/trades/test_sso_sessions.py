"""Issue 27: a marketplace's single sign-on link is a guest's key. A session it opens can read the
person's account and pay that platform's trades, nothing that moves money out or changes
credentials without step-up (the password, and the code when two-factor is on); a link for
someone else asks before it switches; and once the person has a password, the platform may sign
them in only if the person allowed it. Every scenario over HTTP, the victim's balance, cards and
sessions checked after."""

from __future__ import annotations

import secrets
from datetime import timedelta
from urllib.parse import parse_qs, quote, urlsplit

import pyotp
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from amanah.core.clock import clock
from amanah.core.db import run_in_transaction
from amanah.mail import templates as mail_templates
from amanah.platforms import service as platforms
from amanah.users.models import user_tokens
from amanah.users.service import tokens
from tests.integration.users.conftest import queued_params

from .conftest import Market, make_market

PASSWORD = "correct horse battery staple"
COOKIE = "amanah_session"
STEP_UP = "/account/confirm-it-is-you"
VISA = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2035, "cvc": "123", "holder_name": "B SHOP"}


@pytest.fixture
def settings(settings):
    """Nearly free Argon2 (test mode only) and the client address from X-Forwarded-For, so each
    browser here has an address of its own and throttle counters of tests never meet."""
    return settings.model_copy(update={"password_hashing": "test", "trust_x_forwarded_for": True})


def browser(market: Market) -> TestClient:
    """A browser of its own (its own cookie jar and address) on the same server."""
    address = f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{secrets.randbelow(256)}"
    return TestClient(market.client.app, headers={"X-Forwarded-For": address}, follow_redirects=False)


def csrf(page_client: TestClient) -> str:
    return tokens.csrf_token_for(page_client.cookies[COOKIE])


def api_headers(page_client: TestClient) -> dict:
    return {"X-CSRF-Token": csrf(page_client)}


def new_buyer(market: Market) -> dict:
    """A buyer this platform registered automatically at its first trade: ``{id, email,
    platform_user_id, trade}``."""
    trade = market.open_trade(2_000)
    buyer = trade["buyer"]
    with market.engine.connect() as connection:
        email = connection.execute(sa.text("SELECT email FROM users WHERE id = :id"), {"id": buyer["user_id"]}).scalar()
    return {"id": buyer["user_id"], "email": email, "platform_user_id": buyer["platform_user_id"], "trade": trade}


def claim(market: Market, buyer: dict) -> None:
    """The buyer chooses a password with the invitation the first trade e-mailed."""
    [invitation] = queued_params(market.engine, buyer["email"], "invitation")
    done = market.client.post("/v1/password-resets/confirm", json={"token": invitation["token"],
                                                                  "new_password": PASSWORD})
    assert done.status_code == 200, done.text


def turn_on_two_factor(market: Market, buyer: dict) -> pyotp.TOTP:
    token = market.token_for(buyer["id"])
    setup = market.client.post("/v1/me/two-factor", json={"password": PASSWORD}, headers=token)
    assert setup.status_code == 200, setup.text
    totp = pyotp.TOTP(setup.json()["secret"])
    confirmed = market.client.post("/v1/me/two-factor/confirm", json={"code": totp.at(clock.now())}, headers=token)
    assert confirmed.status_code == 200, confirmed.text
    return totp


def next_code(totp: pyotp.TOTP) -> str:
    """A code of the next time step: each code works once, and the current one was used."""
    return totp.at(clock.now() + timedelta(seconds=30))


def mint_link(market: Market, buyer: dict):
    return market.client.post("/v1/sso/login-links", headers=market.as_platform,
                              json={"platform_user_id": buyer["platform_user_id"], "email": buyer["email"]})


def link_token(response) -> str:
    assert response.status_code == 200, response.text
    return parse_qs(urlsplit(response.json()["url"]).query)["token"][0]


def open_link(page_client: TestClient, token: str, next: str = "/account"):
    assert page_client.get(f"/sso/login?token={token}").status_code == 200
    return page_client.post("/sso/login", data={"token": token, "next": next})


def sso_browser(market: Market, buyer: dict, next: str = "/account") -> TestClient:
    page_client = browser(market)
    opened = open_link(page_client, link_token(mint_link(market, buyer)), next)
    assert opened.status_code == 303 and opened.headers["location"] == next, opened.text
    return page_client


def log_in_browser(market: Market, email: str) -> TestClient:
    page_client = browser(market)
    response = page_client.post("/login", data={"email": email, "password": PASSWORD, "next": "/account"})
    assert response.status_code == 303, response.text
    return page_client


def cards_of(market: Market, user_id: str) -> list:
    response = market.client.get("/v1/me/cards", headers=market.token_for(user_id))
    return response.json()["data"]


def sessions_of(market: Market, user_id: str) -> list:
    """The user's current cabinet sessions: (platform it came from, or None for a full one)."""
    now = clock.now()
    with market.engine.connect() as connection:
        rows = connection.execute(sa.select(user_tokens.c.platform_id).where(
            user_tokens.c.user_id == user_id, user_tokens.c.purpose == "session", user_tokens.c.revoked_at.is_(None),
            user_tokens.c.used_at.is_(None), user_tokens.c.expires_at > now)).all()
    return sorted((row.platform_id or "") for row in rows)


def allow_sso(market: Market, buyer: dict) -> None:
    run_in_transaction(market.engine, lambda conn: platforms.set_sso_allowed(
        conn, buyer["id"], market.platform_id, allowed=True, now=clock.now()))


def step_up_location(next: str) -> str:
    return f"{STEP_UP}?next={quote(next, safe='')}"


@pytest.fixture
def claimed_victim(market: Market):
    """The issue's victim: a buyer platform B once registered, who then chose a password, turned
    on two-factor, let B keep signing them in, and has 10,000 on the balance."""
    buyer = new_buyer(market)
    claim(market, buyer)
    totp = turn_on_two_factor(market, buyer)
    allow_sso(market, buyer)
    market.fund(buyer["id"], 10_000)
    return buyer, totp


class TestTheIssuesTakeover:
    """Platform B mints a link for a person who has a password and two-factor, binds its own card
    and withdraws the balance to it."""

    def test_after_the_person_set_a_password_the_platform_may_not_mint_links(self, market):
        buyer = new_buyer(market)
        assert mint_link(market, buyer).status_code == 200  # never claimed: as today
        claim(market, buyer)
        refused = mint_link(market, buyer)
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["code"] == "sso_not_allowed" and refused.json()["error"]["type"] == "permission"

    def test_over_the_api_the_session_cookie_cannot_bind_withdraw_top_up_or_change_credentials(self, market,
                                                                                           claimed_victim):
        victim, _totp = claimed_victim
        b = sso_browser(market, victim)
        assert b.get("/v1/me").json()["id"] == victim["id"]
        assert b.get("/v1/me/balances").status_code == 200
        assert b.get("/v1/me/history").status_code == 200
        headers = api_headers(b)
        attempts = [
            ("POST", "/v1/me/cards", VISA),
            ("POST", "/v1/me/withdrawals", {"amount": 10_000, "currency": "USD", "card_id": "card_x"}),
            ("POST", "/v1/me/topups", {"amount": 1_000, "currency": "USD", "card_id": "card_x"}),
            ("POST", "/v1/me/password", {"current_password": PASSWORD, "new_password": "another long passphrase"}),
            ("POST", "/v1/me/two-factor", {"password": PASSWORD}),
            ("POST", "/v1/me/two-factor/disable", {"password": PASSWORD, "totp_code": "123456"}),
            ("POST", "/v1/me/close", {"password": PASSWORD}),
            ("DELETE", "/v1/me/cards/card_x", None),
        ]
        for method, path, body in attempts:
            response = b.request(method, path, json=body, headers=headers)
            assert response.status_code == 403, (path, response.text)
            assert response.json()["error"]["code"] == "step_up_required", (path, response.text)
            assert response.json()["error"]["type"] == "permission"
        assert market.wallet(victim["id"]).available == 10_000
        assert cards_of(market, victim["id"]) == []
        assert sessions_of(market, victim["id"]) == [market.platform_id]  # no full session came of it

    def test_in_the_cabinet_withdrawing_asks_for_the_password_and_the_code(self, market, claimed_victim):
        victim, totp = claimed_victim
        b = sso_browser(market, victim)
        page = b.get("/account/withdraw")
        assert page.status_code == 303 and page.headers["location"] == step_up_location("/account/withdraw")
        posted = b.post("/account/withdraw", data={"csrf_token": csrf(b), "amount": "100", "currency": "USD",
                                                  "card_id": "card_x"})
        assert posted.status_code == 303 and posted.headers["location"] == step_up_location("/account/withdraw")
        for path in ("/account/cards", "/account/top-up", "/account/security"):
            assert b.get(path).headers["location"] == step_up_location(path), path
        form = b.get(step_up_location("/account/withdraw"))
        assert form.status_code == 200 and 'name="password"' in form.text
        wrong = b.post(STEP_UP, data={"csrf_token": csrf(b), "password": "not my password", "next": "/account/withdraw"})
        assert wrong.status_code == 401
        no_code = b.post(STEP_UP, data={"csrf_token": csrf(b), "password": PASSWORD, "next": "/account/withdraw"})
        assert no_code.status_code == 200 and 'name="totp_code"' in no_code.text  # two-factor is never skipped
        assert b.get("/account/withdraw").status_code == 303  # still limited
        assert sessions_of(market, victim["id"]) == [market.platform_id]
        done = b.post(STEP_UP, data={"csrf_token": csrf(b), "password": PASSWORD, "totp_code": next_code(totp),
                                     "next": "/account/withdraw"})
        assert done.status_code == 303 and done.headers["location"] == "/account/withdraw", done.text
        assert sessions_of(market, victim["id"]) == [""]  # the limited session was replaced by a full one
        assert b.get("/account/withdraw").status_code == 200
        assert b.post("/v1/me/cards", json=VISA, headers=api_headers(b)).status_code == 201

    def test_over_the_api_the_person_steps_up_by_logging_in(self, market, claimed_victim):
        victim, totp = claimed_victim
        b = sso_browser(market, victim)
        without_code = b.post("/v1/auth/sessions", json={"email": victim["email"], "password": PASSWORD})
        assert without_code.status_code == 401 and without_code.json()["error"]["code"] == "two_factor_required"
        assert b.post("/v1/me/cards", json=VISA, headers=api_headers(b)).status_code == 403
        stepped = b.post("/v1/auth/sessions", json={"email": victim["email"], "password": PASSWORD,
                                                    "totp_code": next_code(totp)})
        assert stepped.status_code == 200, stepped.text
        assert sessions_of(market, victim["id"]) == [""]
        assert b.post("/v1/me/cards", json=VISA, headers={"X-CSRF-Token": stepped.json()["csrf_token"]}).status_code == 201

    def test_a_used_code_does_not_step_up_twice(self, market, claimed_victim):
        victim, totp = claimed_victim
        code = next_code(totp)
        first = sso_browser(market, victim)
        assert first.post(STEP_UP, data={"csrf_token": csrf(first), "password": PASSWORD, "totp_code": code,
                                         "next": "/account"}).status_code == 303
        second = sso_browser(market, victim)
        again = second.post(STEP_UP, data={"csrf_token": csrf(second), "password": PASSWORD, "totp_code": code,
                                           "next": "/account"})
        assert again.status_code == 401
        assert second.get("/account/withdraw").status_code == 303

    def test_step_up_is_throttled_like_a_log_in(self, market, claimed_victim):
        victim, _totp = claimed_victim
        b = sso_browser(market, victim)
        answers = [b.post(STEP_UP, data={"csrf_token": csrf(b), "password": f"guess {n}", "next": "/account"}).status_code
                   for n in range(8)]
        assert 429 in answers, answers
        assert b.get("/account/withdraw").status_code == 303
        assert market.wallet(victim["id"]).available == 10_000

    def test_step_up_needs_the_form_token(self, market, claimed_victim):
        victim, totp = claimed_victim
        b = sso_browser(market, victim)
        forged = b.post(STEP_UP, data={"password": PASSWORD, "totp_code": next_code(totp), "next": "/account"})
        assert forged.status_code == 403
        assert sessions_of(market, victim["id"]) == [market.platform_id]


class TestWhatALimitedSessionMayDo:
    def test_it_pays_that_platforms_trade_from_the_balance_and_sees_its_history(self, market):
        buyer = new_buyer(market)
        market.fund(buyer["id"], 2_000)
        b = sso_browser(market, buyer, next=f"/checkout/{buyer['trade']['id']}")
        assert b.get(f"/checkout/{buyer['trade']['id']}").status_code == 200
        paid = b.post(f"/v1/trades/{buyer['trade']['id']}/pay", json={"source": "balance"}, headers=api_headers(b))
        assert paid.status_code == 200 and paid.json()["status"] == "held", paid.text
        assert market.wallet(buyer["id"]).available == 0
        assert b.get("/v1/me/history").status_code == 200 and b.get("/account").status_code == 200

    def test_it_cannot_pay_or_confirm_another_platforms_trade(self, client, engine, market):
        other = make_market(client, engine, name="Platform A")
        buyer = new_buyer(market)
        elsewhere = other.client.post("/v1/trades", headers=other.as_platform, json={
            "out_trade_no": f"o-{secrets.token_hex(6)}", "seller_id": other.seller["id"],
            "buyer": {"platform_user_id": "a-1", "email": buyer["email"]}, "amount": 1_000, "currency": "USD",
            "subject": "Another shop's order"})
        assert elsewhere.status_code == 201, elsewhere.text
        market.fund(buyer["id"], 5_000)
        b = sso_browser(market, buyer)
        refused = b.post(f"/v1/trades/{elsewhere.json()['id']}/pay", json={"source": "balance"}, headers=api_headers(b))
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "step_up_required", refused.text
        page = b.get(f"/checkout/{elsewhere.json()['id']}")
        assert page.status_code == 303 and page.headers["location"].startswith(STEP_UP)
        assert market.wallet(buyer["id"]).available == 5_000

    def test_it_pays_with_a_new_card_but_keeps_no_card_and_cannot_withdraw(self, market):
        """The seed's story: a buyer the purchase registered lands on the checkout from the
        marketplace and pays by card, with no password to step up with. The card pays this trade
        and is not kept on the account (binding one is the person's own act), so a platform
        cannot leave a card of its own there; no money goes out without the person's step-up."""
        buyer = new_buyer(market)
        market.fund(buyer["id"], 3_000)
        trade_id = buyer["trade"]["id"]
        b = sso_browser(market, buyer, next=f"/checkout/{trade_id}")
        posted = b.post(f"/checkout/{trade_id}/pay", data={
            "csrf_token": csrf(b), "source": "new_card", "number": VISA["number"], "expiry": "12/35", "cvc": "123",
            "holder_name": "B SHOP", "form_key": secrets.token_urlsafe(16)})
        assert posted.status_code == 303 and posted.headers["location"] == f"/checkout/{trade_id}/result"
        assert market.client.get(f"/v1/trades/{trade_id}", headers=market.as_platform).json()["status"] == "held"
        assert cards_of(market, buyer["id"]) == []
        refused = b.post("/v1/me/withdrawals", json={"amount": 3_000, "currency": "USD", "card_id": "card_x"},
                         headers=api_headers(b))
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "step_up_required"
        form = b.post("/account/withdraw", data={"csrf_token": csrf(b), "amount": "30", "currency": "USD",
                                                 "card_id": "card_x"})
        assert form.status_code == 303 and form.headers["location"] == step_up_location("/account/withdraw")
        assert market.wallet(buyer["id"]).available == 3_000

    def test_a_person_without_a_password_proves_the_mailbox_instead(self, market):
        buyer = new_buyer(market)
        b = sso_browser(market, buyer)
        page = b.get(step_up_location("/account/withdraw"))
        assert page.status_code == 200 and 'name="password"' not in page.text and "captcha_id" in page.text
        captcha_id = page.text.split('name="captcha_id" value="')[1].split('"')[0]
        sent = b.post(f"{STEP_UP}/set-password", data={"csrf_token": csrf(b), "next": "/account/withdraw",
                                                       "captcha_id": captcha_id, "captcha_answer": "test"})
        assert sent.status_code == 200
        assert len(queued_params(market.engine, buyer["email"], "password_reset")) == 1
        assert b.get("/account/withdraw").status_code == 303  # a link is no step-up by itself


class TestALinkForSomeoneElse:
    def test_a_signed_in_person_is_asked_before_switching(self, market):
        a = new_buyer(market)
        claim(market, a)
        victim = log_in_browser(market, a["email"])
        stranger = new_buyer(market)
        token = link_token(mint_link(market, stranger))
        asked = open_link(victim, token)
        assert asked.status_code == 200
        assert a["email"] in asked.text and stranger["email"] in asked.text and 'name="switch"' in asked.text
        assert victim.get("/v1/me").json()["id"] == a["id"]  # nothing switched yet
        forged = victim.post("/sso/login", data={"token": token, "next": "/account", "switch": "yes"})
        assert forged.status_code == 200 and victim.get("/v1/me").json()["id"] == a["id"]
        switched = victim.post("/sso/login", data={"token": token, "next": "/account", "switch": "yes",
                                                   "csrf_token": csrf(victim)})
        assert switched.status_code == 303
        assert victim.get("/v1/me").json()["id"] == stranger["id"]
        assert sessions_of(market, a["id"]) == []  # the browser's session of A ended with the switch

    def test_the_own_link_of_a_fully_signed_in_person_keeps_the_full_session(self, market):
        buyer = new_buyer(market)
        claim(market, buyer)
        allow_sso(market, buyer)
        page_client = log_in_browser(market, buyer["email"])
        opened = open_link(page_client, link_token(mint_link(market, buyer)))
        assert opened.status_code == 303
        assert page_client.get("/account/withdraw").status_code == 200
        assert sessions_of(market, buyer["id"]) == [""]


class TestLettingAPlatformSignMeIn:
    def test_the_person_allows_and_withdraws_it_in_the_cabinet(self, market):
        buyer = new_buyer(market)
        claim(market, buyer)
        own = log_in_browser(market, buyer["email"])
        page = own.get("/account/marketplaces")
        assert page.status_code == 200 and "Teapot Bazaar" in page.text
        allowed = own.post(f"/account/marketplaces/{market.platform_id}/sign-in",
                           data={"csrf_token": csrf(own), "allowed": "yes"})
        assert allowed.status_code == 303 and allowed.headers["location"].startswith("/account/marketplaces")
        b = sso_browser(market, buyer)
        assert b.get("/v1/me").status_code == 200
        withdrawn = own.post(f"/account/marketplaces/{market.platform_id}/sign-in",
                             data={"csrf_token": csrf(own), "allowed": "no"})
        assert withdrawn.status_code == 303
        assert mint_link(market, buyer).json()["error"]["code"] == "sso_not_allowed"
        assert b.get("/v1/me").status_code == 401  # the sessions it opened ended
        assert sessions_of(market, buyer["id"]) == [""]

    def test_a_limited_session_cannot_allow_it(self, market, claimed_victim):
        victim, _totp = claimed_victim
        run_in_transaction(market.engine, lambda conn: platforms.set_sso_allowed(
            conn, victim["id"], market.platform_id, allowed=True, now=clock.now()))
        b = sso_browser(market, victim)
        posted = b.post(f"/account/marketplaces/{market.platform_id}/sign-in",
                        data={"csrf_token": csrf(b), "allowed": "no"})
        assert posted.status_code == 303 and posted.headers["location"] == step_up_location("/account/marketplaces")
        with market.engine.connect() as connection:
            assert platforms.sso_allowed(connection, victim["id"], market.platform_id)

    def test_a_platform_the_person_is_not_linked_to_is_not_found(self, client, engine, market):
        other = make_market(client, engine, name="Stranger Shop")
        buyer = new_buyer(market)
        claim(market, buyer)
        own = log_in_browser(market, buyer["email"])
        refused = own.post(f"/account/marketplaces/{other.platform_id}/sign-in",
                           data={"csrf_token": csrf(own), "allowed": "yes"})
        assert refused.status_code == 404
        with market.engine.connect() as connection:
            assert not platforms.sso_allowed(connection, buyer["id"], other.platform_id)


class TestTheMarketplacesPage:
    def seller_request(self, market: Market, email: str) -> dict:
        response = market.client.post("/v1/sellers", headers=market.as_platform, json={
            "platform_seller_id": f"s-{secrets.token_hex(4)}", "email": email, "name": "Second-hand teapots"})
        assert response.status_code == 201 and response.json()["status"] == "pending", response.text
        return response.json()

    def test_the_person_accepts_a_seller_request(self, market):
        buyer = new_buyer(market)
        claim(market, buyer)
        seller = self.seller_request(market, buyer["email"])
        own = log_in_browser(market, buyer["email"])
        page = own.get("/account/marketplaces")
        assert "Second-hand teapots" in page.text and f"/sellers/{seller['id']}/accept" in page.text
        accepted = own.post(f"/account/marketplaces/sellers/{seller['id']}/accept", data={"csrf_token": csrf(own)})
        assert accepted.status_code == 303 and accepted.headers["location"] == "/account/marketplaces?notice=accepted"
        links = own.get("/v1/me/seller-links").json()["data"]
        assert [link["status"] for link in links if link["seller_id"] == seller["id"]] == ["active"]
        assert f"/sellers/{seller['id']}/accept" not in own.get("/account/marketplaces").text

    def test_the_person_declines_one(self, market):
        buyer = new_buyer(market)
        claim(market, buyer)
        seller = self.seller_request(market, buyer["email"])
        own = log_in_browser(market, buyer["email"])
        assert own.post(f"/account/marketplaces/sellers/{seller['id']}/decline",
                        data={"csrf_token": csrf(own)}).status_code == 303
        assert market.client.get(f"/v1/sellers/{seller['id']}", headers=market.as_platform).json()["status"] == "declined"

    def test_a_limited_session_must_step_up_to_accept(self, market):
        buyer = new_buyer(market)
        seller = self.seller_request(market, buyer["email"])
        b = sso_browser(market, buyer)
        assert b.get("/account/marketplaces").status_code == 200
        posted = b.post(f"/account/marketplaces/sellers/{seller['id']}/accept", data={"csrf_token": csrf(b)})
        assert posted.status_code == 303 and posted.headers["location"] == step_up_location("/account/marketplaces")
        api = b.post(f"/v1/me/seller-links/{seller['id']}/accept", headers=api_headers(b))
        assert api.status_code == 403 and api.json()["error"]["code"] == "step_up_required"
        assert market.client.get(f"/v1/sellers/{seller['id']}", headers=market.as_platform).json()["status"] == "pending"

    def test_a_form_without_its_token_or_for_someone_elses_request_changes_nothing(self, market):
        buyer, other = new_buyer(market), new_buyer(market)
        claim(market, buyer)
        mine = self.seller_request(market, buyer["email"])
        theirs = self.seller_request(market, other["email"])
        own = log_in_browser(market, buyer["email"])
        assert own.post(f"/account/marketplaces/sellers/{mine['id']}/accept").status_code == 403
        assert own.post(f"/account/marketplaces/sellers/{theirs['id']}/accept",
                        data={"csrf_token": csrf(own)}).status_code == 404
        for seller in (mine, theirs):
            assert market.client.get(f"/v1/sellers/{seller['id']}", headers=market.as_platform).json()["status"] == "pending"

    def test_the_seller_request_email_links_to_this_page(self, market):
        buyer = new_buyer(market)
        claim(market, buyer)
        self.seller_request(market, buyer["email"])
        [params] = queued_params(market.engine, buyer["email"], "seller_request")
        rendered = mail_templates.render("seller_request", "en", params, "http://testserver")
        link = next(word for word in rendered.text.split() if word.startswith("http://testserver/"))
        own = log_in_browser(market, buyer["email"])
        page = own.get(urlsplit(link).path)
        assert page.status_code == 200 and "Second-hand teapots" in page.text


class TestTheNewPagesSpeakEachLanguage:
    WORDS = {"ru": ("Торговые площадки", "Подтвердите, что это вы", "Сменить аккаунт?"),
             "id": ("Marketplace Anda", "Pastikan bahwa ini Anda", "Ganti akun?"),
             "zh": ("您的商城", "确认是您本人", "切换账户？")}

    @pytest.mark.parametrize("locale", sorted(WORDS))
    def test_marketplaces_step_up_and_the_switch_prompt_are_translated(self, market, locale):
        marketplaces, step_up, switch = self.WORDS[locale]
        buyer = new_buyer(market)
        b = sso_browser(market, buyer)
        b.cookies.set("amanah_lang", locale)
        assert marketplaces in b.get("/account/marketplaces").text
        assert step_up in b.get(step_up_location("/account/withdraw")).text
        stranger = new_buyer(market)
        assert switch in open_link(b, link_token(mint_link(market, stranger))).text


@pytest.mark.postgres_only
class TestStepUpRaces:
    def test_ten_step_ups_of_one_session_at_once_make_one_full_session(self, market):
        import threading
        from concurrent.futures import ThreadPoolExecutor

        buyer = new_buyer(market)
        claim(market, buyer)
        allow_sso(market, buyer)
        b = sso_browser(market, buyer)
        cookie, token = b.cookies[COOKIE], csrf(b)
        barrier = threading.Barrier(10)

        def step_up_once(_):
            page_client = browser(market)
            page_client.cookies.set(COOKIE, cookie)
            barrier.wait()
            return page_client.post(STEP_UP, data={"csrf_token": token, "password": PASSWORD,
                                                   "next": "/account"}).status_code

        with ThreadPoolExecutor(10) as pool:
            answers = list(pool.map(step_up_once, range(10)))
        assert sessions_of(market, buyer["id"]) == [""], answers  # one full session, whoever won
