"""The web cabinet: server-rendered pages (Jinja2, htmx vendored under ``static/``) for buyers
and sellers — log in, payment history, my account (balances, cards, top-up, withdraw, security),
checkout of a marketplace trade, the trade page, and today's rates.

Design:
- The pages call the domain services, exactly as the API routers do; never the database.
- Every route here uses ``CabinetRoute`` (``web/pages.py``): an ``AppError`` (or an unexpected
  failure) becomes a friendly HTML page in the visitor's language; messages for error codes are
  kept in one place, ``web/messages.py``. The JSON API's error mapping is untouched.
- Sign-in is the session cookie the API uses (``api.user_auth.session_cookie_name``); every form
  that changes something while signed in carries the session's CSRF token in a hidden field (or
  the ``X-CSRF-Token`` header for htmx requests); forms used before sign-in are checked for a
  same-origin ``Origin``/``Referer``.
- Languages: English, Russian, Indonesian and Chinese (Babel catalogs in ``translations/``);
  amounts and dates are formatted for the visitor's locale.
"""
