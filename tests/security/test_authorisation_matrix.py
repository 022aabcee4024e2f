"""Every operation of ``/openapi.json`` × every kind of caller → the expected answer.

Callers: nobody, the object's platform (X), another platform (Y), an unknown platform key, the
buyer who owns the object (A), another buyer (B), the trade's seller, an operator, a revoked
user token and a revoked operator key. "ok" means the caller was let through (any answer but
401/403/404 and never a 5xx: a 409 for a trade in the wrong state is still "let through");
another's object is always 404, never 403 or 200. Each row runs on objects of its own, denied
callers first, and afterwards the object must be as it was. An operation without a row fails
``test_every_operation_has_a_row``, so a new endpoint cannot be forgotten."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

import pytest

from amanah.core.clock import clock
from amanah.core.db import run_in_transaction
from amanah.operators import service as operators
from amanah.platforms import service as platforms
from amanah.users import service as users
from tests.integration.trades.conftest import make_market

NOBODY, PX, PY, BAD_KEY, BA, BB, SELLER, OPERATOR, REVOKED_USER, REVOKED_OPERATOR = (
    "nobody", "platform_x", "platform_y", "unknown_platform_key", "buyer_a", "buyer_b", "seller", "operator",
    "revoked_user_token", "revoked_operator_key")
CALLERS = (NOBODY, PX, PY, BAD_KEY, BA, BB, SELLER, OPERATOR, REVOKED_USER, REVOKED_OPERATOR)
USERS = (BA, BB, SELLER)
OK = "ok"
PASSWORD = "Amanah matrix password 2049!"


def expect(default, **cells) -> dict:
    table = {caller: default for caller in CALLERS}
    table.update({{"x": PX, "y": PY, "a": BA, "b": BB, "s": SELLER, "op": OPERATOR}.get(k, k): v
                  for k, v in cells.items()})
    return table


PUBLIC = expect(OK)
ANY_USER = expect(401, a=OK, b=OK, s=OK)
A_ONLY = expect(401, a=OK, b=404, s=404)
ANY_PLATFORM = expect(401, x=OK, y=OK)
X_ONLY = expect(401, x=OK, y=404)
OPERATOR_ONLY = expect(401, op=OK)
TRADE_READ = expect(401, x=OK, y=404, a=OK, b=404, s=OK)
TRADE_ANY_CALLER = expect(401, x=OK, y=OK, a=OK, b=OK, s=OK)
PLATFORM_OR_SELLER = expect(401, x=OK, y=404, a=403, b=404, s=OK)
BUYER_ONLY = expect(401, a=OK, b=404, s=403)


@dataclass
class Scene:
    """Objects of one row: platform X with a seller, buyer A with a trade and a card, buyer B."""

    client: object
    engine: object
    market: object
    platform_y_key: str
    revoked_operator_key: str
    trade: dict
    buyer_a: str
    buyer_b: str
    revoked_user_token: str
    extra: dict = field(default_factory=dict)

    def headers(self, caller: str) -> dict:
        token = lambda user_id: self.market.token_for(user_id)  # noqa: E731  (fresh: log-out revokes)
        fixed = {
            NOBODY: {}, PX: self.market.as_platform, PY: {"Authorization": f"Bearer {self.platform_y_key}"},
            BAD_KEY: {"Authorization": f"Bearer sk_{secrets.token_hex(16)}"},
            OPERATOR: self.market.as_operator,
            REVOKED_USER: {"Authorization": f"Bearer {self.revoked_user_token}"},
            REVOKED_OPERATOR: {"Authorization": f"Bearer {self.revoked_operator_key}"},
        }
        if caller in fixed:
            return fixed[caller]
        return token({BA: self.buyer_a, BB: self.buyer_b, SELLER: self.market.seller["user_id"]}[caller])

    def card_of_a(self) -> str:
        if "card" not in self.extra:
            body = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2031, "cvc": "123",
                    "holder_name": "Buyer A"}
            response = self.client.post("/v1/me/cards", json=body, headers=self.headers(BA))
            assert response.status_code == 201, response.text
            self.extra["card"] = response.json()["id"]
        return self.extra["card"]

    def held(self) -> str:
        """The trade, paid from A's balance: in escrow."""
        self.market.fund(self.buyer_a, self.trade["amount"])
        paid = self.client.post(f"/v1/trades/{self.trade['id']}/pay", json={"source": "balance"},
                                headers=self.headers(BA))
        assert paid.status_code == 200, paid.text
        return self.trade["id"]

    def disputed(self) -> str:
        trade_id = self.held()
        response = self.client.post(f"/v1/trades/{trade_id}/dispute", json={"reason": "broken"},
                                    headers=self.headers(BA))
        assert response.status_code == 200, response.text
        return trade_id

    def endpoint(self) -> str:
        response = self.client.post("/v1/webhook_endpoints", json={"url": "http://127.0.0.1:9/h",
                                                                   "events": ["trade.held"]},
                                    headers=self.market.as_platform)
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def delivery(self) -> str:
        endpoint = self.endpoint()
        self.held()
        listed = self.client.get(f"/v1/webhook_endpoints/{endpoint}/deliveries", headers=self.market.as_platform)
        return listed.json()["data"][0]["id"]

    def topup(self) -> str:
        response = self.client.post("/v1/me/topups", json={"amount": 500, "currency": "USD",
                                                           "card_id": self.card_of_a()}, headers=self.headers(BA))
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def withdrawal(self) -> str:
        self.market.fund(self.buyer_a, 1000)
        response = self.client.post("/v1/me/withdrawals", json={"amount": 500, "currency": "USD",
                                                                "card_id": self.card_of_a()}, headers=self.headers(BA))
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def spare_platform_key(self) -> str:
        """A second key of platform X (revoking it leaves X's own key working)."""
        made, _secret = run_in_transaction(self.engine, lambda c: platforms.keys.add_key(
            c, self.market.platform_id, now=clock.now()))
        return made.id

    def quote(self) -> str:
        response = self.client.post("/v1/fx/quotes", json={"sell_currency": "EUR",
                                                          "buy": {"amount": 100, "currency": "USD"}})
        return response.json().get("id", "qt_missing")


def _captcha(scene: Scene) -> dict:
    made = scene.client.get("/v1/captcha").json()
    return {"email": f"nobody.{secrets.token_hex(4)}@example.com", "captcha_id": made["captcha_id"],
            "captcha_answer": "test"}


def _login(scene: Scene) -> dict:
    if "login" not in scene.extra:
        email = f"registered.{secrets.token_hex(4)}@example.com"
        made = scene.client.post("/v1/users", json={"email": email, "password": PASSWORD, "name": "Reg"})
        assert made.status_code == 201, made.text
        scene.extra["login"] = {"email": email, "password": PASSWORD}
    return scene.extra["login"]


T = "/v1/trades/{trade_id}"
# The back office (web pages, outside the OpenAPI document): no credential of the API opens it,
# an operator key included — only an operator account's own session, opened with password and
# TOTP (tests/integration/backoffice covers the signed-in side). A page sends everyone here to
# the log-in (303); a form is refused (403); the log-in form without its three fields is a 400.
B, TO_LOG_IN, NO_SESSION = "/backoffice", expect(303), expect(403)
BACKOFFICE_ROWS: dict[str, tuple[dict, dict, object]] = {
    **{f"GET {B}{page}": (TO_LOG_IN, {}, None) for page in (
        "", "/search", "/disputes", "/service-mode", "/fx", "/ledger", "/liabilities", "/audit-log", "/password")},
    f"GET {B}/users/{{user_id}}": (TO_LOG_IN, {"user_id": lambda s: s.buyer_a}, None),
    f"GET {B}/platforms/{{platform_id}}": (TO_LOG_IN, {"platform_id": lambda s: s.market.platform_id}, None),
    f"GET {B}/trades/{{trade_id}}": (TO_LOG_IN, {"trade_id": lambda s: s.trade["id"]}, None),
    f"GET {B}/transfers/{{transfer_id}}": (TO_LOG_IN, {"transfer_id": lambda s: f"{s.trade['id']}:hold:1"}, None),
    f"GET {B}/login": (PUBLIC, {}, None),
    f"POST {B}/login": (expect(400), {}, None),
    **{f"POST {B}{form}": (NO_SESSION, {}, None) for form in (
        "/logout", "/password", "/service-mode", "/fx/rates", "/fx/import")},
    f"POST {B}/disputes/{{trade_id}}/resolve": (NO_SESSION, {"trade_id": Scene.disputed}, None),
}
# method path → (expectations, how to fill the path, the body (a function of the scene) or None)
ROWS: dict[str, tuple[dict, dict, object]] = {
    "GET /healthz": (PUBLIC, {}, None),
    "GET /readyz": (PUBLIC, {}, None),
    "GET /v1/service-status": (PUBLIC, {}, None),
    "GET /v1/currencies": (PUBLIC, {}, None),
    "GET /v1/fx/rates": (PUBLIC, {}, None),
    "POST /v1/fx/quotes": (PUBLIC, {}, lambda s: {"sell_currency": "EUR", "buy": {"amount": 100, "currency": "USD"}}),
    # Quotes carry no owner yet (API.md: anyone may price a sum); the id is unguessable.
    "GET /v1/fx/quotes/{quote_id}": (PUBLIC, {"quote_id": Scene.quote}, None),
    "GET /v1/captcha": (PUBLIC, {}, None),
    "POST /v1/users": (PUBLIC, {}, lambda s: {"email": f"new.{secrets.token_hex(5)}@example.com",
                                              "password": PASSWORD, "name": "New"}),
    "POST /v1/auth/token": (PUBLIC, {}, _login),
    "POST /v1/auth/sessions": (PUBLIC, {}, _login),
    "POST /v1/password-resets": (PUBLIC, {}, _captcha),
    "POST /v1/password-resets/confirm": (PUBLIC, {}, lambda s: {"token": "not-a-token", "new_password": PASSWORD}),
    "POST /v1/email-verifications/confirm": (PUBLIC, {}, lambda s: {"token": "not-a-token"}),
    "POST /v1/auth/logout": (ANY_USER, {}, None),
    "GET /v1/me": (ANY_USER, {}, None),
    "POST /v1/me/email-verifications": (ANY_USER, {}, lambda s: {}),
    "POST /v1/me/two-factor": (ANY_USER, {}, lambda s: {"password": "wrong"}),
    "POST /v1/me/two-factor/confirm": (ANY_USER, {}, lambda s: {"code": "000000"}),
    "POST /v1/me/two-factor/disable": (ANY_USER, {}, lambda s: {"password": "wrong"}),
    "GET /v1/me/cards": (ANY_USER, {}, None),
    "POST /v1/me/cards": (ANY_USER, {}, lambda s: {"number": "5555555555554444", "exp_month": 1, "exp_year": 2032,
                                                   "cvc": "321", "holder_name": "Someone"}),
    "GET /v1/me/cards/{card_id}": (A_ONLY, {"card_id": Scene.card_of_a}, None),
    "DELETE /v1/me/cards/{card_id}": (A_ONLY, {"card_id": Scene.card_of_a}, None),
    "POST /v1/me/close": (ANY_USER, {}, lambda s: {"password": "wrong", "confirm": True}),
    "POST /v1/me/password": (ANY_USER, {}, lambda s: {"current_password": "wrong", "new_password": PASSWORD + "!"}),
    "GET /v1/me/export.json": (ANY_USER, {}, None),
    "GET /v1/me/export.csv": (ANY_USER, {}, None),
    "GET /v1/me/balances": (ANY_USER, {}, None),
    "GET /v1/me/history": (ANY_USER, {}, None),
    "GET /v1/me/history.csv": (ANY_USER, {}, None),
    # Paying for a top-up or a withdrawal with another's card is "no such card".
    "POST /v1/me/topups": (A_ONLY, {}, lambda s: {"amount": 500, "currency": "USD", "card_id": s.card_of_a()}),
    "POST /v1/me/withdrawals": (A_ONLY, {}, lambda s: {"amount": 1, "currency": "USD", "card_id": s.card_of_a()}),
    "GET /v1/me/topups/{topup_id}": (A_ONLY, {"topup_id": Scene.topup}, None),
    "GET /v1/me/withdrawals/{withdrawal_id}": (A_ONLY, {"withdrawal_id": Scene.withdrawal}, None),
    "POST /v1/trades": (expect(401, x=OK, y=404), {}, lambda s: {
        "out_trade_no": f"o-{secrets.token_hex(5)}", "seller_id": s.market.seller["id"], "amount": 100,
        "currency": "USD", "subject": "Cup", "buyer": {"platform_user_id": f"p-{secrets.token_hex(3)}",
                                                        "email": f"b.{secrets.token_hex(4)}@example.com"}}),
    "GET /v1/trades": (TRADE_ANY_CALLER, {}, None),
    f"GET {T}": (TRADE_READ, {"trade_id": lambda s: s.trade["id"]}, None),
    # The seller sees the trade but cannot pay it: for payment it is "no such trade" to anyone but A.
    f"POST {T}/pay": (expect(401, a=OK, b=404, s=404), {"trade_id": lambda s: s.trade["id"]},
                      lambda s: s.market.fund(s.buyer_a, s.trade["amount"]) or {"source": "balance"}),
    f"POST {T}/ship": (PLATFORM_OR_SELLER, {"trade_id": Scene.held}, lambda s: {"carrier": "DHL",
                                                                              "tracking_number": "T1"}),
    f"POST {T}/confirm": (BUYER_ONLY, {"trade_id": Scene.held}, None),
    f"POST {T}/refunds": (PLATFORM_OR_SELLER, {"trade_id": Scene.held}, lambda s: {"amount": 100, "reason": "x"}),
    f"POST {T}/dispute": (BUYER_ONLY, {"trade_id": Scene.held}, lambda s: {"reason": "never came"}),
    f"POST {T}/dispute/resolve": (X_ONLY, {"trade_id": Scene.disputed}, lambda s: {"outcome": "refund_buyer"}),
    f"POST {T}/cancel": (X_ONLY, {"trade_id": lambda s: s.trade["id"]}, None),
    "POST /v1/sellers": (ANY_PLATFORM, {}, lambda s: {"platform_seller_id": f"s-{secrets.token_hex(3)}",
                                                       "email": f"s.{secrets.token_hex(4)}@example.com", "name": "S"}),
    "GET /v1/sellers/{seller_id}": (X_ONLY, {"seller_id": lambda s: s.market.seller["id"]}, None),
    # Y naming X's buyer opens nothing: "no such buyer" at Y.
    "POST /v1/sso/login-links": (X_ONLY, {}, lambda s: {"platform_user_id": s.trade["buyer"]["platform_user_id"],
                                                        "email": s.extra["email_a"]}),
    "GET /v1/webhook_endpoints": (ANY_PLATFORM, {}, None),
    "POST /v1/webhook_endpoints": (ANY_PLATFORM, {}, lambda s: {"url": "http://127.0.0.1:9/h", "events": ["trade.held"]}),
    "GET /v1/webhook_endpoints/{endpoint_id}": (X_ONLY, {"endpoint_id": Scene.endpoint}, None),
    "DELETE /v1/webhook_endpoints/{endpoint_id}": (X_ONLY, {"endpoint_id": Scene.endpoint}, None),
    "GET /v1/webhook_endpoints/{endpoint_id}/deliveries": (X_ONLY, {"endpoint_id": Scene.endpoint}, None),
    "POST /v1/webhook_deliveries/{delivery_id}/resend": (X_ONLY, {"delivery_id": Scene.delivery}, None),
    "POST /v1/webhook_endpoints/{endpoint_id}/test": (X_ONLY, {"endpoint_id": Scene.endpoint}, None),
    "GET /v1/events/types": (ANY_PLATFORM, {}, None),
    "GET /v1/admin/ledger/verify": (OPERATOR_ONLY, {}, None),
    "GET /v1/admin/service-mode": (OPERATOR_ONLY, {}, None),
    "GET /v1/me/seller-links": (ANY_USER, {}, None),
    # The seller's own link: only that person may answer it; to anyone else it is not there.
    "POST /v1/me/seller-links/{seller_id}/accept": (expect(401, a=404, b=404, s=OK),
                                                    {"seller_id": lambda s: s.market.seller["id"]}, None),
    "POST /v1/me/seller-links/{seller_id}/decline": (expect(401, a=404, b=404, s=OK),
                                                     {"seller_id": lambda s: s.market.seller["id"]}, None),
    "PUT /v1/admin/platforms/{platform_id}/fee-limit": (OPERATOR_ONLY, {"platform_id": lambda s: s.market.platform_id},
                                                        lambda s: {"bps_max": 3000}),
    # A platform's keys and its switch: operators only (a platform cannot mint or revoke keys itself).
    "POST /v1/admin/platforms/{platform_id}/keys": (OPERATOR_ONLY, {"platform_id": lambda s: s.market.platform_id},
                                                    lambda s: {"grace_s": 86400}),
    "GET /v1/admin/platforms/{platform_id}/keys": (OPERATOR_ONLY, {"platform_id": lambda s: s.market.platform_id},
                                                   None),
    "DELETE /v1/admin/platforms/{platform_id}/keys/{key_id}": (
        OPERATOR_ONLY, {"platform_id": lambda s: s.market.platform_id, "key_id": Scene.spare_platform_key}, None),
    "POST /v1/admin/platforms/{platform_id}/disable": (OPERATOR_ONLY,
                                                       {"platform_id": lambda s: s.market.platform_id}, None),
    "POST /v1/admin/platforms/{platform_id}/enable": (OPERATOR_ONLY,
                                                      {"platform_id": lambda s: s.market.platform_id}, None),
    "PUT /v1/admin/service-mode": (OPERATOR_ONLY, {}, lambda s: {"mode": "normal", "reason": "matrix"}),
    "GET /v1/admin/reports/liabilities": (OPERATOR_ONLY, {}, None),
    # Without ?date= the operator gets a 400 (let through); everyone else is refused first.
    "GET /v1/admin/reports/reconciliation": (OPERATOR_ONLY, {}, None),
    "POST /v1/test/clock/advance": (OPERATOR_ONLY, {}, lambda s: {"seconds": 0}),
    "GET /v1/test/outbox/mail": (OPERATOR_ONLY, {}, None),
    "GET /v1/admin/audit-log": (OPERATOR_ONLY, {}, None),
    **BACKOFFICE_ROWS,
}


def _operations(document: dict) -> list[str]:
    return sorted(f"{method.upper()} {path}" for path, methods in document["paths"].items() for method in methods
                  if method in ("get", "post", "put", "patch", "delete"))


@pytest.fixture(scope="module")
def document():
    import tempfile
    from pathlib import Path

    from amanah.api.app import create_app
    from amanah.core.config import Settings

    scratch = Path(tempfile.mkdtemp(prefix="amanah-openapi-"))
    return create_app(Settings(env="test", database_url=f"sqlite:///{scratch / 'x.db'}", data_dir=scratch)).openapi()


def test_every_operation_has_a_row(document):
    missing = [operation for operation in _operations(document) if operation not in ROWS]
    assert not missing, f"add these operations to ROWS in {__name__}: {missing}"


def _scene(client, engine) -> Scene:
    market = make_market(client, engine, name=f"X {secrets.token_hex(3)}")
    trade = market.open_trade(2599)

    def work(connection):
        now = clock.now()
        _y, y_key = platforms.create_platform(connection, name=f"Y {secrets.token_hex(3)}", now=now)
        revoked, revoked_key = operators.create_key(connection, label="revoked", now=now)
        operators.revoke_key(connection, revoked.key_id, now=now)
        b = users.register_automatically(connection, f"b.{secrets.token_hex(5)}@example.com", now=now)
        token = users.issue_access_token(connection, trade["buyer"]["user_id"], now=now).access_token
        users.revoke_access_token(connection, token, now=now)
        return y_key, revoked_key, b.id, token, users.get_user(connection, trade["buyer"]["user_id"]).email

    y_key, revoked_key, b_id, revoked_token, email_a = run_in_transaction(engine, work)
    return Scene(client, engine, market, y_key, revoked_key, trade, trade["buyer"]["user_id"], b_id, revoked_token,
                 extra={"email_a": email_a})


def _state(scene: Scene) -> dict:
    trade = scene.client.get(f"/v1/trades/{scene.trade['id']}", headers=scene.market.as_platform).json()
    cards = scene.client.get("/v1/me/cards", headers=scene.headers(BA)).json()["data"]
    return {"trade": (trade["status"], trade["refunded_amount"], trade["held_amount"]),
            "cards": sorted(card["id"] for card in cards)}


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"connector_timeout_s": 0.05})


@pytest.mark.parametrize("operation", sorted(ROWS))
def test_each_caller_gets_the_expected_answer(operation, client, engine):
    expected, path_fillers, body = ROWS[operation]
    method, template = operation.split(" ", 1)
    scene = _scene(client, engine)
    from amanah.fx import service as fx
    run_in_transaction(engine, lambda c: fx.load_sample_rates(c, now=clock.now()))
    path = template
    for name, fill in path_fillers.items():
        path = path.replace("{" + name + "}", fill(scene))
    scene.card_of_a()
    before = _state(scene)
    denied = [caller for caller in CALLERS if expected[caller] != OK]
    allowed = [caller for caller in CALLERS if expected[caller] == OK]
    wrong = []
    for caller in denied + allowed:
        if caller in allowed and caller is allowed[0]:
            assert _state(scene) == before, f"{operation}: a refused caller changed something"
        payload = body(scene) if body else None
        response = client.request(method, path, headers=scene.headers(caller), follow_redirects=False,
                                  **({"json": payload} if payload is not None else {}))
        got = response.status_code
        if expected[caller] == OK:
            # A wrong password for a step-up check (two-factor, closing) is a 401 of its own.
            step_up = got == 401 and response.json()["error"]["code"] == "invalid_credentials"
            if (got in (401, 403, 404) and not step_up) or got >= 500:
                wrong.append(f"{caller}: expected to be let through, got {got} {response.text[:200]}")
        elif got != expected[caller]:
            wrong.append(f"{caller}: expected {expected[caller]}, got {got} {response.text[:200]}")
        if got < 300 and caller in (PY, BB) and "data" in (response.json() if "json" in
                                                           response.headers.get("content-type", "") else {}):
            listed = {item.get("id") for item in response.json()["data"] if isinstance(item, dict)} - {None}
            assert not listed & {scene.trade["id"], scene.extra.get("card")}, f"{caller} sees another's objects"
    if not allowed:
        assert _state(scene) == before
    assert not wrong, f"{operation}:\n" + "\n".join(wrong)
