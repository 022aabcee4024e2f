"""Currencies and exchange: rates (import, store), quotes, conversion in the ledger.

Design in short:

- **Rates** are stored per pair and day with their source (``ecb``, ``csv``, ``manual``,
  ``sample``): "one ``base`` is worth ``rate`` ``quote`` on ``as_of``". ``importers`` reads the
  ECB's ``eurofxref`` XML (daily, 90-day, historical) and a ``date,base,quote,rate`` CSV;
  the operator sets the currencies the ECB does not publish (RUB, UAH, KZT) by hand.
  Importing the same day again replaces that day's rate; history stays.
- **Cross rates** (``pricing.RateTable``): the newest rate of each pair, either way round,
  chained through the fewest currencies (EUR, usually) as exact fractions. A chain is as old
  as its oldest rate; rates older than ``AMANAH_FX_RATE_AGE_MAX_DAYS`` are never used to
  price, and a quote refuses (``fx_rate_stale``) rather than use one.
- **Quotes** buy an exact amount (the trade's price, the top-up, the withdrawal) with another
  currency: mid-market rate plus ``AMANAH_FX_SPREAD_BPS``, the rate and the sum charged both
  rounded UP, so the payer is charged enough and the one paid is never short a minor unit.
  A quote lives ``AMANAH_FX_QUOTE_VALIDITY_S`` seconds and is locked by one payment, once.
- **Conversion** is ledger transfers, linked with the payment that uses them: payer → FX
  liquidity (sell currency), FX liquidity → FX revenue (the spread, sell currency), FX
  liquidity (buy currency) → payee. Every currency balances on its own.

Use it through ``amanah.fx.service``: ``create_quote``, ``lock_quote``,
``conversion_transfers`` / ``convert_in_ledger``; the API is ``api/routers/fx.py``, the
command line ``amanah rates`` (``fx/cli.py``).
"""
