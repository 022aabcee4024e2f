"""Winding down and closing accounts (issue 8; the seed's 2017 closure).

- ``service``: a user closes their account once they hold no money and no trade is open:
  cards deleted from the vault, the person forgotten (``users.service.anonymise``), the
  marketplaces' links dropped; the ledger's accounts and transfers stay, as the books must.
  ``export`` is the user's data (profile, cards, trades, balances) as JSON or CSV, before closing.
- ``notices``: while winding down, every user holding money is e-mailed the notice once per
  wind-down; a row per (wind-down, user) claimed with a unique key makes that exactly once
  however many workers run the job, and the mail is queued in the same transaction.
- The refusals of new business live beside the actions they refuse, each asking
  ``core.service_mode.refuse_new_business``.
"""
