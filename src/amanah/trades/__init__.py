"""Marketplace trades with escrow — the heart of Amanah.

**The rule of trust.** A marketplace is a guest. A person's money moves only by that person's
own act, or by a trade the person took part in, and never by more than that trade brought them.
A platform acts on a person's account only where the person said yes.

How trades keep it (each check in the code, and in the database where it can be):

- *Only a consenting seller.* A trade may name only an ``active`` seller
  (``platforms.require_active_seller``, 409 ``seller_not_active``): one whose account the
  platform's request opened, or whose person accepted the link in the cabinet. A platform that
  names someone's existing e-mail gets a ``pending`` seller and no trade.
- *Never more than the trade brought.* A refund out of escrow gives back only what is held. A
  refund after completion takes back from the seller at most what this trade paid them (less what
  earlier refunds took), and the platform's fee in proportion from the platform's fee account, in
  one linked batch; a seller balance that is short is 409 ``seller_balance_insufficient`` and
  nothing moves. The refund row records both shares, and a CHECK makes them add up to the refund
  (``ck_refunds_shares``); wallets cannot go below zero (``debits_must_not_exceed_credits``).
- *A bounded fee.* A trade's fee may not exceed the platform's operator-set limit
  (``platforms.fee_bps_max``, default 30%, CHECKed to 0..100% in the database): 400
  ``fee_too_high``.
- *The person's own act.* Only the buyer pays, confirms or disputes; a session a marketplace
  opened with a single sign-on link is limited to reading and paying that platform's trades, and
  what moves money out or changes credentials asks the person to step up (password, and the code
  when two-factor is on).

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
