"""Demo Bazaar: a tiny marketplace shop that uses ONLY the public platform API over HTTP.

It stands for any marketplace integrating Amanah: products with prices in a few currencies;
"Buy" opens a trade (``POST /v1/trades``; the visitor's shop id and e-mail name the buyer, who is
registered automatically if new) and sends the buyer to the trade's checkout through a single
sign-on link; "My orders" follows the trades (``GET /v1/trades?out_trade_no=``); "My Amanah"
is an SSO login link (``POST /v1/sso/login-links``); the seller side marks orders shipped
(``POST /v1/trades/{id}/ship``). It imports nothing of Amanah's internals, holds no money and
keeps only which order numbers belong to which buyer (``shop_orders.json``).

``amanah demo`` starts it beside the payment system; on its own::

    AMANAH_SHOP_API_URL=http://127.0.0.1:8000 AMANAH_SHOP_PLATFORM_KEY=sk_… python -m amanah.demo_shop --port 8001
"""
