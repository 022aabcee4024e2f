"""Platforms (marketplaces) and their sellers, API keys and webhooks.

**The rule of trust.** A marketplace is a guest. A person's money moves only by that person's
own act, or by a trade the person took part in, and never by more than that trade brought them.
A platform acts on a person's account only where the person said yes.

Several platforms share one installation; each sees only its own sellers, buyers' trades and
events (another platform's object is 404). How this package keeps the rule:

- *Seller links need consent.* ``register_seller`` opens an account (and an ``active`` seller)
  only for an e-mail nobody holds; for an existing account the seller is ``pending`` until the
  person accepts in the cabinet (``decide_seller_link``, one conditional UPDATE; a session a
  marketplace opened cannot answer). A declined platform cannot ask again under another id.
- *Fee limits.* ``platforms.fee_bps_max`` is set by an operator only (admin API, CLI, back
  office; audited) and checked by every new trade.
- *Limited sign-on.* ``buyer_for_login_link`` lets a platform mint a single sign-on link only for
  a buyer it registered or who paid one of its trades; the session it opens carries the platform
  and is limited (see ``amanah.trades``).
- *Keys an operator controls.* A platform authenticates with a secret key ``sk_…`` (256 random
  bits; only its SHA-256 is stored, ``platforms.keys``). Keys are rotated with a grace period,
  revoked, or all refused by disabling the platform; a refused key gets the unknown key's 401.
- *Race-free get-or-create.* Buyers, sellers and accounts are ``INSERT … ON CONFLICT DO NOTHING``
  then read (or a retried insert): a checkout under load makes one account and one link.

A seller is a user with a wallet, registered by the platform under the platform's own seller
id; a buyer is a user linked to the platform's own user id when a trade first names them."""
