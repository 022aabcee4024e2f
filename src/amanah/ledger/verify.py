"""Recomputes the books from the journal and checks the double-entry invariants.

Every account's four balances are summed again from its transfers and compared with the
stored ones; each account's flags must hold; per currency, debits equal credits (posted and
pending); and every post, void or expiry must match its hold (same accounts, an amount no
larger, a hold that is a hold)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from amanah.ledger import sql
from amanah.ledger.models import accounts, transfers
from amanah.ledger.types import TransferKind

VIOLATIONS_SHOWN_MAX = 100
_POSTING_KINDS = (TransferKind.DIRECT.value, TransferKind.POST_PENDING.value)


@dataclass
class VerifyReport:
    ok: bool = True
    checked_transfers: int = 0
    checked_accounts: int = 0
    currencies: dict[str, dict[str, int]] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)
    violations_total: int = 0

    def violation(self, message: str) -> None:
        self.ok = False
        self.violations_total += 1
        if len(self.violations) < VIOLATIONS_SHOWN_MAX:
            self.violations.append(message)

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "checked_transfers": self.checked_transfers,
            "checked_accounts": self.checked_accounts,
            "currencies": self.currencies,
            "violations": self.violations,
            "violations_total": self.violations_total,
        }


def verify(connection: Connection) -> VerifyReport:
    report = VerifyReport()
    report.checked_transfers = connection.execute(sa.select(sa.func.count()).select_from(transfers)).scalar_one()
    recomputed = _recompute_balances(connection)
    totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in connection.execute(sa.select(accounts).order_by(accounts.c.id)):
        account = sql.account_from_row(row)
        report.checked_accounts += 1
        expected = recomputed.get(account.id, (0, 0, 0, 0))
        stored = (account.debits_posted, account.credits_posted, account.debits_pending, account.credits_pending)
        if stored != expected:
            report.violation(
                f"account {account.id} ({account.kind}, {account.owner_ref}, {account.currency}): "
                f"stored balances (debits_posted, credits_posted, debits_pending, credits_pending) "
                f"{stored} but its transfers give {expected}"
            )
        _check_flags(report, account, expected)
        for name, value in zip(("debits", "credits", "debits_pending", "credits_pending"), stored):
            totals[account.currency][name] += value
    for currency, sums in sorted(totals.items()):
        report.currencies[currency] = dict(sums)
        if sums["debits"] != sums["credits"] or sums["debits_pending"] != sums["credits_pending"]:
            report.violation(f"{currency}: total debits and credits differ: {dict(sums)}")
    for message in _mismatched_resolutions(connection):
        report.violation(message)
    return report


def _recompute_balances(connection: Connection) -> dict[int, tuple[int, int, int, int]]:
    resolver = transfers.alias("resolver")
    posted = sa.func.sum(sa.case((transfers.c.kind.in_(_POSTING_KINDS), transfers.c.amount), else_=0))
    pending = sa.func.sum(
        sa.case(
            ((transfers.c.kind == TransferKind.PENDING.value) & resolver.c.id.is_(None), transfers.c.amount),
            else_=0,
        )
    )
    joined = transfers.outerjoin(resolver, resolver.c.pending_id == transfers.c.id)
    balances: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for side, posted_index, pending_index in (("debit", 0, 2), ("credit", 1, 3)):
        column = transfers.c[f"{side}_account_id"]
        for account_id, posted_sum, pending_sum in connection.execute(
            sa.select(column, posted, pending).select_from(joined).group_by(column)
        ):
            balances[account_id][posted_index] = int(posted_sum)
            balances[account_id][pending_index] = int(pending_sum)
    return {account_id: tuple(values) for account_id, values in balances.items()}  # type: ignore[misc]


def _check_flags(report: VerifyReport, account, balances: tuple[int, int, int, int]) -> None:
    debits_posted, credits_posted, debits_pending, credits_pending = balances
    if account.debits_must_not_exceed_credits and debits_posted + debits_pending > credits_posted:
        report.violation(f"account {account.id} ({account.kind}, {account.currency}): debits exceed credits")
    if account.credits_must_not_exceed_debits and credits_posted + credits_pending > debits_posted:
        report.violation(f"account {account.id} ({account.kind}, {account.currency}): credits exceed debits")


def _mismatched_resolutions(connection: Connection) -> list[str]:
    resolver, hold = transfers.alias("resolver"), transfers.alias("hold")
    query = (
        sa.select(resolver.c.id, resolver.c.pending_id)
        .select_from(resolver.join(hold, hold.c.id == resolver.c.pending_id))
        .where(
            (hold.c.kind != TransferKind.PENDING.value)
            | (resolver.c.debit_account_id != hold.c.debit_account_id)
            | (resolver.c.credit_account_id != hold.c.credit_account_id)
            | (resolver.c.amount > hold.c.amount)
            | ((resolver.c.kind != TransferKind.POST_PENDING.value) & (resolver.c.amount != hold.c.amount))
        )
        .limit(VIOLATIONS_SHOWN_MAX)
    )
    return [
        f"transfer {row.id} does not match the hold {row.pending_id} it resolves"
        for row in connection.execute(query)
    ]
