"""Platforms (marketplaces) and their sellers, API keys and webhooks.

Several platforms share one installation; each sees only its own sellers, buyers' trades and
events. A platform authenticates with a secret key ``sk_…`` shown once by
``amanah platforms create NAME``; only its SHA-256 hash is stored (the key is 256 random bits).
A seller is a user with a wallet, registered by the platform under the platform's own seller
id; a buyer is a user linked to the platform's own user id when a trade first names them."""
