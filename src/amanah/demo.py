"""Demo data for ``amanah demo``: sample exchange rates, a demo marketplace with its key, a
seller, a buyer who can log in, and a trade waiting for payment. Made once per data directory;
the credentials are kept in ``$AMANAH_DATA_DIR/demo.json`` (mode 0600) and printed each run."""

from __future__ import annotations

import json
import os
import secrets

from sqlalchemy.engine import Engine

from amanah.core.clock import clock
from amanah.core.config import Settings
from amanah.core.db import run_in_transaction
from amanah.fx import service as fx
from amanah.money import Money, currency
from amanah.operators import service as operators
from amanah.platforms import service as platforms
from amanah.trades import service as trades
from amanah.users import service as users

BUYER_EMAIL, BUYER_PASSWORD = "buyer@example.com", "amanah-demo-buyer"
SELLER_EMAIL, SELLER_PASSWORD = "seller@example.com", "amanah-demo-seller"


def seed(engine: Engine, settings: Settings) -> dict:
    """The demo's credentials, creating the demo data the first time."""
    path = settings.data_dir / "demo.json"
    run_in_transaction(engine, lambda c: fx.load_sample_rates(c, now=clock.now()))
    if path.exists():
        return json.loads(path.read_text())
    credentials = run_in_transaction(engine, lambda c: _create(c, settings))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(credentials, handle, indent=2)
    return credentials


def _create(connection, settings: Settings) -> dict:
    now = clock.now()
    _operator, operator_key = operators.create_key(connection, label="demo", now=now)
    platform, platform_key = platforms.create_platform(connection, name="Demo Bazaar", now=now)
    seller_user = users.register_user(connection, settings, email=SELLER_EMAIL, password=SELLER_PASSWORD,
                                      name="Teapot Workshop", now=now)
    seller, _ = platforms.register_seller(connection, platform.id, platform_seller_id="teapot-workshop",
                                          email=seller_user.email, name="Teapot Workshop", now=now)
    # The demo seller has an account already, so the link waits for its consent: it says yes.
    platforms.decide_seller_link(connection, seller_user.id, seller.id, accept=True, now=now)
    buyer = users.register_user(connection, settings, email=BUYER_EMAIL, password=BUYER_PASSWORD,
                                name="Dewi Lestari", now=now)
    trade, _ = trades.create_trade(connection, platform.id, trades.NewTrade(
        out_trade_no=f"DEMO-{secrets.token_hex(3).upper()}", seller_id=seller.id, buyer_platform_user_id="dewi",
        buyer_email=buyer.email, amount=Money(2599, currency("USD")), subject="Blue clay teapot, 600 ml"), now=now)
    return {"operator_key": operator_key, "platform_key": platform_key, "platform_id": platform.id,
            "seller_id": seller.id, "seller": [SELLER_EMAIL, SELLER_PASSWORD], "buyer": [BUYER_EMAIL, BUYER_PASSWORD],
            "trade_id": trade.id}
