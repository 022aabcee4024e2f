"""The double-entry ledger, after TigerBeetle's model.

- An **account** has a currency, a kind, an owner and four balances: ``debits_posted``,
  ``credits_posted``, ``debits_pending``, ``credits_pending``. Flags bound it: a wallet's
  debits must not exceed its credits, so it never goes negative.
- A **transfer** moves an amount from one account (debit) to another (credit) of the same
  currency. It has a client-supplied unique id and is immutable: corrections are new transfers.
  Sending the same id again with the same fields is a no-op that reports ``exists``.
- A **pending transfer** (a hold; escrow is one) reserves the amount on both sides. It is later
  posted (all or part; the rest returns), voided, or expired after its timeout, at most once.
- **Linked** transfers are applied all or nothing.
- A **batch** of transfers is one database transaction: accounts locked in id order, each
  transfer judged on its own in memory (``engine``), then one insert of the new transfers and
  one update per account. Group commit builds on this.

Two guards for every invariant: the code (``engine`` asserts them after every batch) and the
database (CHECK constraints, unique ids and resolutions, composite foreign keys that keep both
sides in one currency, triggers refusing UPDATE and DELETE of transfers). ``verify`` recomputes
everything from the journal.
"""

from amanah.ledger.service import (
    create_linked,
    create_transfer,
    create_transfers,
    expire_due,
    get_account,
    open_account,
)
from amanah.ledger.types import (
    Account,
    AccountKind,
    Transfer,
    TransferKind,
    TransferOutcome,
    TransferRequest,
    TransferResult,
)
from amanah.ledger.verify import VerifyReport, verify

__all__ = [
    "Account", "AccountKind", "Transfer", "TransferKind", "TransferOutcome", "TransferRequest",
    "TransferResult", "VerifyReport", "create_linked", "create_transfer", "create_transfers",
    "expire_due", "get_account", "open_account", "verify",
]
