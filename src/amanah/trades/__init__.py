"""Marketplace trades with escrow — the heart of Amanah.

A platform opens a trade for one of its sellers and a buyer (registered on the spot if new).
The buyer pays from the balance, a card or an e-wallet, in the trade's currency or another one
(a locked FX quote); the money becomes one pending ledger transfer from the buyer's wallet to
the seller's (escrow), so both see it held. Shipping starts the protection timer; the buyer's
confirmation, or the timer, posts the hold to the seller and the platform's fee from the
seller to the platform, atomically. Refunds void the hold and hold the rest again (or, after
completion, move money back from the seller's balance); disputes stop the timer until the
platform settles them.

``states`` holds the one transition table; every move goes through ``check_transition``, under
the trade's row lock, in the same transaction as its ledger transfers and its webhook event.
"""
