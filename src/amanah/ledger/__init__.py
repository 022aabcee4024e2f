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
  one update per account (one statement on PostgreSQL). Group commit builds on this. On
  PostgreSQL a batch of one plainly valid direct or pending transfer takes a fast path: one
  call of ``ledger_transfer_one`` (migrations 0014, 0016) applies it, or writes nothing and leaves it
  to the engine, which decides every refusal. A statement of another module's can make such a
  transfer along with its own rows (``transfer_in_statement``, ``TRANSFER_ONE_OR_RAISE``,
  migration 0017): all of it, or nothing when the engine must judge the transfer.

Group commit and hot accounts (issue 10; figures in ``benchmarks/README.md``):

- ``group_commit.TransferBatcher`` concatenates concurrent callers' requests into one
  ``create_transfers``: one lock of all their accounts in id order (two batches in flight never
  deadlock), one INSERT, one UPDATE per account with the batch's **net** change, one commit;
  each caller gets its own outcomes, and a failing transfer fails only its own linked chain.
- ``run_in_transaction(engine, work, group=True)`` (``core.db``) does the same for whole units
  of work (a trade's row, its ledger transfers, its outbox): one SAVEPOINT per unit, one
  commit per batch, one batch in flight at a time.
- **Hot accounts** (a platform's fee account, the FX liquidity accounts) are handled by
  *netting*, not by splitting them: inside a batch the fee account is locked once and written
  once however many trades pay into it, and batches touching it follow each other, so its row
  lock is held once per batch instead of once per trade. We chose netting over sub-accounts
  summed on read because balances stay one row (``verify``, limits and the CHECK constraints
  keep judging the real balance, and reads stay one lookup), and because measured with the
  batcher the hot workload runs at least as fast as the uniform one (fewer rows to update).
  Outside group commit a hot account still serialises its transactions on its row lock.

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
    made_in_statement,
    not_applied,
    open_account,
    open_accounts,
    transfer_in_statement,
)
from amanah.ledger.sql import TRANSFER_ONE_OR_RAISE, account_id_of
from amanah.ledger.types import (
    Account,
    AccountKey,
    AccountKind,
    Transfer,
    TransferKind,
    TransferOutcome,
    TransferRequest,
    TransferResult,
)
from amanah.ledger.verify import VerifyReport, verify

__all__ = [
    "Account", "AccountKey", "AccountKind", "Transfer", "TransferKind", "TransferOutcome", "TransferRequest",
    "TransferResult", "VerifyReport", "TRANSFER_ONE_OR_RAISE", "account_id_of",
    "create_linked", "create_transfer", "create_transfers", "expire_due", "get_account", "made_in_statement",
    "not_applied", "open_account", "open_accounts", "transfer_in_statement", "verify",
]
