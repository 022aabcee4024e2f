"""The Demo Bazaar web app (FastAPI + Jinja, server-rendered, no script needed)."""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx
import jinja2
import standardwebhooks
from fastapi import FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from amanah.api.headers import SecurityHeaders, origin

HERE = Path(__file__).parent
BUYER_COOKIE = "bazaar_buyer"


@dataclass(frozen=True)
class Product:
    id: str
    name: str
    seller: str
    """The shop's own id of the seller (``platform_seller_id``)."""
    amount: int
    """Minor units of ``currency``."""
    currency: str
    exponent: int = 2


SELLERS = {
    # The first is the seller ``amanah demo`` seeds; POST /v1/sellers returns it as it is.
    "teapot-workshop": {"name": "Teapot Workshop", "email": "seller@example.com"},
    "batik-house": {"name": "Batik House", "email": "batik@example.com"},
}

PRODUCTS = [
    Product("teapot", "Blue clay teapot, 600 ml", "teapot-workshop", 2599, "USD"),
    Product("cups", "Six tea cups, celadon glaze", "teapot-workshop", 1950, "EUR"),
    Product("scarf", "Hand-drawn batik scarf", "batik-house", 35000000, "IDR"),
    Product("fan", "Silk fan with bamboo ribs", "batik-house", 12800, "CNY"),
]
SYMBOLS = {"USD": "$", "EUR": "€", "IDR": "Rp ", "CNY": "¥"}


def price(product: Product) -> str:
    return format_amount(product.amount, product.currency, product.exponent)


def format_amount(amount: int, code: str, exponent: int | None = None) -> str:
    exponent = 2 if exponent is None else exponent
    value = Decimal(amount).scaleb(-exponent)
    return f"{SYMBOLS.get(code, code + ' ')}{value:,.{exponent}f}"


EVENTS = ("trade.held", "trade.shipped", "trade.completed", "trade.refunded", "trade.disputed",
          "trade.dispute_resolved", "trade.closed")


@dataclass(frozen=True)
class ShopConfig:
    api_url: str
    """The payment system's address, as the shop's server reaches it."""
    platform_key: str
    data_dir: Path

    @classmethod
    def from_environment(cls) -> "ShopConfig":
        data_dir = Path(os.environ.get("AMANAH_DATA_DIR") or "./data")
        key = os.environ.get("AMANAH_SHOP_PLATFORM_KEY")
        if not key:
            demo = data_dir / "demo.json"
            if not demo.exists():
                raise SystemExit(f"No platform key: set AMANAH_SHOP_PLATFORM_KEY or run `amanah demo` ({demo}).")
            key = json.loads(demo.read_text())["platform_key"]
        return cls(os.environ.get("AMANAH_SHOP_API_URL", "http://127.0.0.1:8000").rstrip("/"), key, data_dir)


class Orders:
    """Which order numbers are whose: the only thing the shop keeps (the trades live in Amanah)."""

    def __init__(self, path: Path) -> None:
        self.path, self.lock = path, threading.Lock()

    def _read(self) -> list[dict]:
        return json.loads(self.path.read_text()) if self.path.exists() else []

    def add(self, out_trade_no: str, buyer_id: str, product_id: str) -> None:
        with self.lock:
            rows = self._read()
            rows.append({"out_trade_no": out_trade_no, "buyer": buyer_id, "product": product_id})
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_suffix(".tmp")
            temporary.write_text(json.dumps(rows, indent=1))
            temporary.replace(self.path)

    def note_event(self, out_trade_no: str, event_type: str, status: str, at: str) -> None:
        """What a webhook told the shop about one of its orders (kept in arrival order)."""
        with self.lock:
            rows = self._read()
            for row in rows:
                if row["out_trade_no"] == out_trade_no:
                    row.setdefault("events", []).append({"type": event_type, "status": status, "at": at})
            temporary = self.path.with_suffix(".tmp")
            temporary.write_text(json.dumps(rows, indent=1))
            temporary.replace(self.path)

    def of(self, buyer_id: str | None = None) -> list[dict]:
        with self.lock:
            rows = self._read()
        return [row for row in reversed(rows) if buyer_id is None or row["buyer"] == buyer_id]


class Amanah:
    """The public platform API, over HTTP with the platform's secret key."""

    def __init__(self, config: ShopConfig) -> None:
        self.http = httpx.Client(base_url=config.api_url, timeout=15,
                                 headers={"Authorization": f"Bearer {config.platform_key}"})
        self.seller_ids: dict[str, str] = {}

    def call(self, method: str, path: str, **kwargs) -> dict:
        if method == "POST":
            kwargs.setdefault("headers", {})["Idempotency-Key"] = secrets.token_hex(16)
        response = self.http.request(method, path, **kwargs)
        if response.status_code >= 400:
            try:
                message = response.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = response.text[:200]
            raise HTTPException(502 if response.status_code >= 500 else 400, f"Amanah said: {message}")
        return response.json()

    def seller_id(self, shop_seller: str) -> str:
        if shop_seller not in self.seller_ids:
            info = SELLERS[shop_seller]
            made = self.call("POST", "/v1/sellers", json={"platform_seller_id": shop_seller, **info})
            self.seller_ids[shop_seller] = made["id"]
        return self.seller_ids[shop_seller]

    def trade_by_number(self, out_trade_no: str) -> dict | None:
        found = self.call("GET", "/v1/trades", params={"out_trade_no": out_trade_no})["data"]
        return found[0] if found else None


def create_app(config: ShopConfig) -> FastAPI:
    app = FastAPI(title="Demo Bazaar", docs_url=None, redoc_url=None, openapi_url=None)
    # The same headers as Amanah's own pages; the shop's forms end in redirects to Amanah's log-in
    # link and checkout, which the browser checks against form-action.
    app.add_middleware(SecurityHeaders, base_url="", form_targets=(origin(config.api_url),))
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    templates = jinja2.Environment(loader=jinja2.FileSystemLoader(str(HERE / "templates")),
                                   autoescape=jinja2.select_autoescape(["html"]), undefined=jinja2.StrictUndefined)
    templates.globals.update(price=price, format_amount=format_amount, SELLERS=SELLERS)
    amanah, orders = Amanah(config), Orders(config.data_dir / "shop_orders.json")
    products = {product.id: product for product in PRODUCTS}

    def buyer_of(request: Request) -> dict | None:
        raw = request.cookies.get(BUYER_COOKIE, "")
        buyer_id, _, email = raw.partition("|")
        return {"id": buyer_id, "email": email} if buyer_id and "@" in email else None

    def render(request: Request, name: str, status_code: int = 200, **context) -> HTMLResponse:
        html = templates.get_template(name).render(buyer=buyer_of(request), path=request.url.path, **context)
        return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-store"})

    def same_origin(request: Request) -> None:
        source = request.headers.get("origin") or request.headers.get("referer")
        if source and urlsplit(source).netloc != request.headers.get("host"):
            raise HTTPException(403, "This form was sent from another site.")

    @app.exception_handler(HTTPException)
    def problem(request: Request, error: HTTPException):
        return render(request, "problem.html", status_code=error.status_code, message=error.detail)

    @app.get("/", response_class=HTMLResponse)
    def shop(request: Request):
        return render(request, "shop.html", products=PRODUCTS)

    @app.get("/sign-in", response_class=HTMLResponse)
    def sign_in_page(request: Request, next: str = "/"):
        return render(request, "sign_in.html", next=next if next.startswith("/") and not next.startswith("//") else "/")

    @app.post("/sign-in")
    def sign_in(request: Request, buyer_id: str = Form(..., max_length=64), email: str = Form(..., max_length=254),
                next: str = Form("/", max_length=200)):
        """A stand-in for the shop's own accounts: the visitor says who they are (a demo)."""
        same_origin(request)
        buyer_id, email = buyer_id.strip(), email.strip()
        if not buyer_id or "@" not in email or "|" in buyer_id:
            return render(request, "sign_in.html", status_code=400, next=next, error="Type a shop id and an e-mail.")
        response = RedirectResponse(next if next.startswith("/") and not next.startswith("//") else "/", 303)
        response.set_cookie(BUYER_COOKIE, f"{buyer_id}|{email}", httponly=True, samesite="lax")
        return response

    @app.post("/sign-out")
    def sign_out(request: Request):
        same_origin(request)
        response = RedirectResponse("/", 303)
        response.delete_cookie(BUYER_COOKIE)
        return response

    @app.post("/buy/{product_id}")
    def buy(request: Request, product_id: str):
        same_origin(request)
        product, buyer = products.get(product_id), buyer_of(request)
        if product is None:
            raise HTTPException(404, "No such product.")
        if buyer is None:
            return RedirectResponse(f"/sign-in?next={quote('/')}", 303)
        out_trade_no = f"BZR-{secrets.token_hex(5).upper()}"
        trade = amanah.call("POST", "/v1/trades", json={
            "out_trade_no": out_trade_no, "seller_id": amanah.seller_id(product.seller),
            "buyer": {"platform_user_id": buyer["id"], "email": buyer["email"]},
            "amount": product.amount, "currency": product.currency, "subject": product.name})
        orders.add(out_trade_no, buyer["id"], product.id)
        # The buyer may be new (registered by this trade, no password yet): a single sign-on
        # link signs them in and lands on the trade's checkout page.
        checkout = urlsplit(trade["checkout_url"])
        try:
            link = amanah.call("POST", "/v1/sso/login-links", json={"platform_user_id": buyer["id"],
                                                                     "email": buyer["email"]})
            return RedirectResponse(f"{link['url']}&next={quote(checkout.path)}", 303)
        except HTTPException:
            return RedirectResponse(trade["checkout_url"], 303)

    @app.get("/orders", response_class=HTMLResponse)
    def my_orders(request: Request):
        buyer = buyer_of(request)
        if buyer is None:
            return RedirectResponse("/sign-in?next=/orders", 303)
        found = [(row, amanah.trade_by_number(row["out_trade_no"])) for row in orders.of(buyer["id"])]
        return render(request, "orders.html", orders=[(row, trade) for row, trade in found if trade], seller_view=False)

    @app.get("/my-amanah")
    def my_amanah(request: Request):
        """The account menu's "My Amanah": a single-use SSO link into the payment cabinet."""
        buyer = buyer_of(request)
        if buyer is None:
            return RedirectResponse("/sign-in?next=/my-amanah", 303)
        try:
            link = amanah.call("POST", "/v1/sso/login-links", json={"platform_user_id": buyer["id"],
                                                                     "email": buyer["email"]})
        except HTTPException:  # sso_not_allowed: a buyer with a password of their own logs in themselves
            return RedirectResponse(f"{config.api_url}/login", 303)
        return RedirectResponse(link["url"], 303)

    @app.get("/seller", response_class=HTMLResponse)
    def seller(request: Request):
        found = [(row, amanah.trade_by_number(row["out_trade_no"])) for row in orders.of()]
        return render(request, "orders.html", orders=[(row, trade) for row, trade in found if trade], seller_view=True)

    @app.post("/seller/orders/{trade_id}/ship")
    def ship(request: Request, trade_id: str, carrier: str = Form("Demo Post", max_length=64),
             tracking_number: str = Form("", max_length=64)):
        same_origin(request)
        amanah.call("POST", f"/v1/trades/{quote(trade_id[:40], safe='')}/ship", json={
            "carrier": carrier or "Demo Post", "tracking_number": tracking_number or f"DP{secrets.token_hex(4).upper()}"})
        return RedirectResponse("/seller", 303)

    @app.post("/webhooks/amanah")
    async def webhook(request: Request):
        """Amanah's Standard Webhooks: verified with the endpoint's secret, then noted."""
        secret = webhook_secret(config)
        if secret is None:
            raise HTTPException(404, "This shop has not subscribed to webhooks.")
        body = await request.body()
        try:
            event = standardwebhooks.Webhook(secret).verify(body, dict(request.headers))
        except standardwebhooks.webhooks.WebhookVerificationError:
            raise HTTPException(400, "Bad webhook signature.") from None
        trade = event.get("data", {})
        orders.note_event(trade.get("out_trade_no", ""), event.get("type", ""), trade.get("status", ""),
                          event.get("timestamp", ""))
        return {"received": True}

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    return app


def webhook_secret(config: ShopConfig) -> str | None:
    path = config.data_dir / "shop_webhook.json"
    return json.loads(path.read_text())["secret"] if path.exists() else None


def subscribe(config: ShopConfig, own_url: str, *, attempts: int = 60) -> bool:
    """Registers the shop's webhook endpoint once (the secret is kept beside the orders), waiting
    for the payment system to come up. The demo allows a loopback URL; production would not."""
    if webhook_secret(config) is not None:
        return True
    amanah = Amanah(config)
    for _ in range(attempts):
        try:
            made = amanah.call("POST", "/v1/webhook_endpoints", json={
                "url": f"{own_url}/webhooks/amanah", "events": list(EVENTS)})
        except (httpx.TransportError, HTTPException):
            time.sleep(1)
            continue
        path = config.data_dir / "shop_webhook.json"
        path.write_text(json.dumps({"id": made["id"], "secret": made["secret"]}))
        os.chmod(path, 0o600)
        return True
    return False


def run(config: ShopConfig, *, host: str, port: int, in_thread: bool = False):
    """Serves the shop; with ``in_thread``, in a daemon thread (``amanah demo``), returning it."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(create_app(config), host=host, port=port, log_level="warning"))
    if not in_thread:
        server.run()
        return None
    thread = threading.Thread(target=server.run, name="demo-shop", daemon=True)
    thread.start()
    threading.Thread(target=subscribe, args=(config, f"http://{host}:{port}"), name="demo-shop-webhooks",
                     daemon=True).start()
    return thread
