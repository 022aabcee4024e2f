"""Cards and payment methods: the vault, binding and unbinding cards, connectors, charges.

- ``vault`` is the only code that ever holds a full card number (AES-256-GCM under a data key
  per card, wrapped by a key-encryption key from a file; keyed fingerprints; key rotation).
- ``brands`` checks a number (Luhn, length, brand by range: Visa, Mastercard, Mir, UnionPay),
  expiry and CVC; each failure names its field.
- ``service`` binds (verifying with the acquirer; the CVC is then forgotten), lists and deletes
  a user's cards; another user's card is always "not found".
- ``connectors`` is the interface to acquirers and e-wallets, and the sandbox ones.
- ``charges`` takes money from a card or e-wallet for another domain's purpose in three steps,
  so that no lock is held while the outside world answers, and settles each charge exactly once.
"""
