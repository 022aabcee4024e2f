"""Operators: the people who run an Amanah installation.

- **API keys** (``ak_…``, ``amanah admin-keys create``) for the admin API. A key is shown once
  and only its SHA-256 hash is stored: keys are 256-bit random, so a fast hash is enough (there
  is nothing to brute-force).
- **Accounts** (``amanah operators create EMAIL``) for the web back office (``/backoffice``):
  e-mail, Argon2id password and a TOTP secret; log-in needs the password AND a current code
  (``accounts.py``).
- **The audit log** (``audit.py``): every operator action — back office, admin API, and the
  ``amanah operators`` commands — writes one row in the action's own transaction, with the state
  before and after. The database refuses to update, delete or truncate it.
"""
