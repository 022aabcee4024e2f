"""Amanah: a self-hostable payment system for marketplaces (wallet + escrow).

Dependencies point one way: ``api``, ``web`` and ``cli`` call the domain services
(``users``, ``cards``, ``wallet``, ``trades``, ``fx``, ``platforms``), which call
``ledger`` and ``money``, which stand on ``core``.
"""

__version__ = "0.1.0"
