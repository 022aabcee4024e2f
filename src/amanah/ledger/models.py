"""Ledger tables (SQLAlchemy Core). The database is the second guard of every invariant:
CHECK constraints for amounts and account flags, unique transfer ids, one resolution per
pending transfer, the same currency on both sides (composite foreign keys), and triggers
(created by the migration) that refuse any UPDATE or DELETE of a transfer."""

from __future__ import annotations

import sqlalchemy as sa

from amanah.core import limits
from amanah.core.db import BigIntegerPK, UTCDateTime, metadata

RESOLVING_KINDS_SQL = "('post_pending', 'void_pending', 'expire_pending')"

accounts = sa.Table(
    "ledger_accounts",
    metadata,
    sa.Column("id", BigIntegerPK, primary_key=True, autoincrement=True),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("owner_ref", sa.String(64), nullable=False),
    sa.Column("debits_must_not_exceed_credits", sa.Boolean, nullable=False),
    sa.Column("credits_must_not_exceed_debits", sa.Boolean, nullable=False),
    sa.Column("debits_posted", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("credits_posted", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("debits_pending", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("credits_pending", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("kind", "owner_ref", "currency"),
    sa.UniqueConstraint("id", "currency"),
    sa.CheckConstraint(
        "debits_posted >= 0 AND credits_posted >= 0 AND debits_pending >= 0 AND credits_pending >= 0",
        name="balances_not_negative",
    ),
    sa.CheckConstraint(
        "NOT (debits_must_not_exceed_credits AND credits_must_not_exceed_debits)",
        name="one_flag_at_most",
    ),
    sa.CheckConstraint(
        "NOT debits_must_not_exceed_credits OR debits_posted + debits_pending <= credits_posted",
        name="debits_within_credits",
    ),
    sa.CheckConstraint(
        "NOT credits_must_not_exceed_debits OR credits_posted + credits_pending <= debits_posted",
        name="credits_within_debits",
    ),
)

transfers = sa.Table(
    "ledger_transfers",
    metadata,
    # seq orders transfers by commit (history pages, keyset pagination); id is the client's.
    sa.Column("seq", BigIntegerPK, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(limits.TRANSFER_ID_LENGTH_MAX), nullable=False, unique=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("debit_account_id", sa.BigInteger, nullable=False),
    sa.Column("credit_account_id", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column(
        "pending_id",
        sa.String(limits.TRANSFER_ID_LENGTH_MAX),
        sa.ForeignKey("ledger_transfers.id"),
        nullable=True,
        # A pending transfer is posted, voided or expired at most once. PostgreSQL: a unique
        # index on the resolutions alone, WHERE pending_id IS NOT NULL (migration 0019).
        unique=True,
    ),
    sa.Column("timeout_s", sa.Integer, nullable=True),
    sa.Column("expires_at", UTCDateTime, nullable=True),
    sa.Column("code", sa.String(limits.TRANSFER_CODE_LENGTH_MAX), nullable=False),
    sa.Column("reference", sa.String(limits.TRANSFER_REFERENCE_LENGTH_MAX), nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.ForeignKeyConstraint(
        ["debit_account_id", "currency"], ["ledger_accounts.id", "ledger_accounts.currency"]
    ),
    sa.ForeignKeyConstraint(
        ["credit_account_id", "currency"], ["ledger_accounts.id", "ledger_accounts.currency"]
    ),
    sa.CheckConstraint(f"amount > 0 AND amount <= {limits.AMOUNT_MAX_MINOR}", name="amount_in_range"),
    sa.CheckConstraint("debit_account_id <> credit_account_id", name="accounts_differ"),
    sa.CheckConstraint(
        "kind IN ('direct', 'pending', 'post_pending', 'void_pending', 'expire_pending')",
        name="kind_known",
    ),
    sa.CheckConstraint(
        f"(kind IN {RESOLVING_KINDS_SQL}) = (pending_id IS NOT NULL)",
        name="pending_id_iff_resolving",
    ),
    sa.CheckConstraint(
        "(timeout_s IS NULL AND expires_at IS NULL) OR (kind = 'pending' AND timeout_s > 0 "
        "AND expires_at IS NOT NULL)",
        name="timeout_only_on_pending",
    ),
    # Each (account, side) as a time-ordered range: history pages, reconciliation (0010).
    sa.Index(None, "debit_account_id", "created_at", "seq"),
    sa.Index(None, "credit_account_id", "created_at", "seq"),
    # The expiry job's: holds only (0015).
    sa.Index(None, "expires_at", postgresql_where=sa.text("expires_at IS NOT NULL"),
             sqlite_where=sa.text("expires_at IS NOT NULL")),
    sa.Index(None, "reference"),
)
