"""The back office: the web pages operators use to look things up and to act — search (users,
platforms, trades, transfers), a user's balances and history, a platform, a trade with its
events, the dispute queue, the service mode, FX rates, ledger verification, the liabilities
report and the audit log. The pages are ``web/routes/backoffice.py`` (under ``/backoffice``).

- ``queries.py`` reads (through the domains' services where they have the use case).
- ``actions.py`` acts: each action calls the owning domain's use case and writes its audit row
  (``operators.audit``) in the same transaction. The admin API's state-changing endpoints and
  the ``amanah operators`` commands use it too, so every operator action is on record.
- Who may: an operator account signed in with password AND TOTP (``operators.accounts``); an
  API key or a cabinet session opens nothing here.
"""
