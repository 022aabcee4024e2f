"""Reconciliation: for one day (UTC) and each external clearing account — the card acquirer's,
each e-wallet's, the payouts' — what our ledger says moved, matched against what the
connector says it settled, operation by operation.

The two sides:

- **the ledger**: the transfers that touch a clearing account and settle an operation — a
  charge funding a top-up or a trade (``direct``), a refund to the card or a payout posted
  (``post_pending``: it went out) or voided (it failed; the money stayed). Holds are not
  settlements. Each is traced to the operation id the connector was given: the charge id (from
  our ``charges`` table, by the charge's purpose), the refund id, the withdrawal (payout) id.
- **the connector**: ``settlements(day)``, from its own records (the sandbox's own table here;
  a real acquirer's settlement report), never from our ledger.

An operation matches when both sides have it with the same amount, currency and outcome; one
that failed on both sides, or that the ledger voided and the connector never saw, matched too
(no money moved). Everything else is a mismatch: in the ledger but not reported by the
connector, reported but not in the ledger, amount, currency or outcome different. An operation
settled on the day by one side and on the day before or after by the other (near midnight) is
a timing difference, listed apart: it is not an error.

Call the connectors outside any transaction (``fetch_settlements``: on SQLite every transaction
holds the write lock, and a real connector is a network call), then ``build_report`` inside
one; ``reconcile`` does both."""

from __future__ import annotations

import csv
import enum
import io
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from amanah.cards.connectors import SettlementKind
from amanah.cards.connectors.registry import all_connectors
from amanah.cards.models import charges
from amanah.core.config import Settings
from amanah.core.db import run_in_transaction
from amanah.ledger import AccountKind
from amanah.ledger.models import accounts, transfers

CLEARING_KINDS = (AccountKind.CARD_CLEARING, AccountKind.EWALLET_CLEARING, AccountKind.PAYOUT_CLEARING)
SUCCEEDED, FAILED = "succeeded", "failed"


class Problem(enum.StrEnum):
    MISSING_AT_CONNECTOR = "missing_at_connector"
    """The ledger booked it; the connector did not report it."""
    MISSING_IN_LEDGER = "missing_in_ledger"
    """The connector settled it (money moved); the ledger has no settling transfer."""
    AMOUNT_DIFFERS = "amount_differs"
    CURRENCY_DIFFERS = "currency_differs"
    STATUS_DIFFERS = "status_differs"
    """One side says it succeeded, the other that it failed."""
    OTHER_DAY = "other_day"
    """Matched, but settled on the neighbouring day by one side (a timing difference)."""


@dataclass(frozen=True)
class Entry:
    """One operation as one side recorded it."""

    operation_id: str
    kind: str
    """charge, refund, payout (or ``unknown`` for a ledger transfer of no known operation)."""
    amount: int
    currency: str
    status: str
    """succeeded or failed."""
    at: datetime
    reference: str
    """The ledger's transfer id, or the connector's own id."""


@dataclass(frozen=True)
class Line:
    """One operation of the report: matched, or one of its problems."""

    result: str
    """``matched`` or a ``Problem``."""
    operation_id: str
    kind: str
    ledger: Entry | None
    connector: Entry | None

    def as_dict(self) -> dict:
        side = lambda entry: None if entry is None else {  # noqa: E731
            "amount": entry.amount, "currency": entry.currency, "status": entry.status,
            "at": entry.at.isoformat(), "reference": entry.reference}
        return {"problem": self.result, "operation_id": self.operation_id, "kind": self.kind,
                "ledger": side(self.ledger), "connector": side(self.connector)}


@dataclass
class CurrencyTotals:
    """Matched, succeeded operations of one currency (minor units)."""

    charges: int = 0
    refunds: int = 0
    payouts: int = 0
    count: int = 0

    @property
    def net(self) -> int:
        """What the connector owes us for the day (negative: what we owe it)."""
        return self.charges - self.refunds - self.payouts


@dataclass
class AccountReport:
    account_kind: str
    connector: str
    matched: list[Line] = field(default_factory=list)
    mismatches: list[Line] = field(default_factory=list)
    timing_differences: list[Line] = field(default_factory=list)
    totals: dict[str, CurrencyTotals] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def as_dict(self) -> dict:
        return {"account": f"{self.account_kind}:{self.connector}", "account_kind": self.account_kind,
                "connector": self.connector, "ok": self.ok, "matched": len(self.matched),
                "totals": {code: {**asdict(t), "net": t.net} for code, t in sorted(self.totals.items())},
                "mismatches": [line.as_dict() for line in self.mismatches],
                "timing_differences": [line.as_dict() for line in self.timing_differences]}


@dataclass
class Report:
    day: date
    accounts: list[AccountReport]

    @property
    def ok(self) -> bool:
        return all(account.ok for account in self.accounts)

    def as_dict(self) -> dict:
        return {"date": self.day.isoformat(), "ok": self.ok,
                "mismatches": sum(len(a.mismatches) for a in self.accounts),
                "accounts": [account.as_dict() for account in self.accounts]}

    def lines(self) -> Iterator[tuple[AccountReport, Line]]:
        for account in self.accounts:
            for line in (*account.mismatches, *account.timing_differences, *account.matched):
                yield account, line


AccountKey = tuple[str, str]
"""(clearing account kind, connector name)."""
Reported = dict[AccountKey, list[Entry]]


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=timezone.utc)
    return start, start + timedelta(days=1)


def fetch_settlements(engine: Engine, settings: Settings, day: date) -> Reported:
    """What every connector says it settled on ``day`` and the days either side (for timing
    differences), by clearing account. Call it outside any transaction."""
    reported: Reported = {}
    for connector in all_connectors(engine, settings):
        is_acquirer = hasattr(connector, "payout")  # a card acquirer pays out; an e-wallet does not
        for settlement in (s for d in (-1, 0, 1) for s in connector.settlements(day + timedelta(days=d))):
            if settlement.kind is SettlementKind.PAYOUT:
                kind = AccountKind.PAYOUT_CLEARING
            else:
                kind = AccountKind.CARD_CLEARING if is_acquirer else AccountKind.EWALLET_CLEARING
            reported.setdefault((kind.value, connector.name), []).append(Entry(
                settlement.operation_id, settlement.kind.value, settlement.amount.amount_minor,
                settlement.amount.currency.code, settlement.status.value, settlement.settled_at,
                settlement.connector_reference))
        if is_acquirer:
            reported.setdefault((AccountKind.PAYOUT_CLEARING.value, connector.name), [])
            reported.setdefault((AccountKind.CARD_CLEARING.value, connector.name), [])
        else:
            reported.setdefault((AccountKind.EWALLET_CLEARING.value, connector.name), [])
    return reported


def reconcile(engine: Engine, settings: Settings, day: date) -> Report:
    """The day's report: the connectors asked first, outside any transaction, then our books."""
    reported = fetch_settlements(engine, settings, day)
    return run_in_transaction(engine, lambda connection: build_report(connection, day, reported))


def build_report(connection: Connection, day: date, reported: Reported) -> Report:
    """Matches the ledger's settling transfers of ``day`` (and either side) against
    ``reported`` (from ``fetch_settlements``); one consistent read of our side."""
    booked = _ledger_entries(connection, day)
    start, end = _day_bounds(day)
    keys = sorted(set(reported) | set(booked))
    return Report(day, [_match(key, booked.get(key, []), reported.get(key, []), start, end) for key in keys])


def _match(key: AccountKey, booked: list[Entry], reported: list[Entry], start: datetime, end: datetime) -> AccountReport:
    report = AccountReport(*key)
    ours = {entry.operation_id: entry for entry in booked}
    theirs = {entry.operation_id: entry for entry in reported}
    on_day = lambda entry: entry is not None and start <= entry.at < end  # noqa: E731
    for operation_id in sorted(set(ours) | set(theirs)):
        ledger, connector = ours.get(operation_id), theirs.get(operation_id)
        if not (on_day(ledger) or on_day(connector)):
            continue  # the neighbouring days' own business
        kind = connector.kind if connector is not None and (ledger is None or ledger.kind == "unknown") else ledger.kind
        problems = _problems(ledger, connector)
        if not problems:
            both_on_day = (ledger is None or on_day(ledger)) and (connector is None or on_day(connector))
            line = Line("matched" if both_on_day else Problem.OTHER_DAY.value, operation_id, kind, ledger, connector)
            (report.matched if both_on_day else report.timing_differences).append(line)
            if both_on_day:
                _add(report, line)
        for problem in problems:
            report.mismatches.append(Line(problem.value, operation_id, kind, ledger, connector))
    return report


def _problems(ledger: Entry | None, connector: Entry | None) -> list[Problem]:
    if ledger is None:
        # A failed charge never reaches the ledger: nothing moved on either side.
        return [] if connector.status == FAILED else [Problem.MISSING_IN_LEDGER]
    if connector is None:
        # A payout or refund the connector never saw, voided by us: nothing moved either.
        return [] if ledger.status == FAILED else [Problem.MISSING_AT_CONNECTOR]
    found = []
    if ledger.currency != connector.currency:
        found.append(Problem.CURRENCY_DIFFERS)
    elif ledger.amount != connector.amount:
        found.append(Problem.AMOUNT_DIFFERS)
    if ledger.status != connector.status:
        found.append(Problem.STATUS_DIFFERS)
    return found


def _add(report: AccountReport, line: Line) -> None:
    entry = line.ledger or line.connector
    if entry.status != SUCCEEDED:
        return
    totals = report.totals.setdefault(entry.currency, CurrencyTotals())
    totals.count += 1
    if line.kind == SettlementKind.CHARGE.value:
        totals.charges += entry.amount
    elif line.kind == SettlementKind.REFUND.value:
        totals.refunds += entry.amount
    elif line.kind == SettlementKind.PAYOUT.value:
        totals.payouts += entry.amount


# How the ledger's settling transfers name their operation (the trades' and wallet's ids):
CHARGE_CODES = {"topup": "topup", "trade_funding": "trade"}
"""Transfer code of a charge's funding → the charge's purpose kind (its purpose id is the
transfer's reference: ``topup:<top_…>``, ``trade:<trd_…>``)."""
RESOLUTION_CODES = {"refund_to_source": ("refund", ":to_source"), "withdrawal_paid": ("payout", ":hold"),
                    "withdrawal_returned": ("payout", ":hold")}
"""Transfer code of a post or void → (operation kind, the suffix of the hold's id after the
operation id: ``<ref_…>:to_source``, ``<wdr_…>:hold``)."""


def _ledger_entries(connection: Connection, day: date) -> dict[AccountKey, list[Entry]]:
    start, end = _day_bounds(day)
    clearing = connection.execute(sa.select(accounts.c.id, accounts.c.kind, accounts.c.owner_ref).where(
        accounts.c.kind.in_([k.value for k in CLEARING_KINDS]))).all()
    by_id = {row.id: (row.kind, row.owner_ref) for row in clearing}
    if not by_id:
        return {}
    rows = connection.execute(sa.select(transfers).where(
        sa.or_(transfers.c.debit_account_id.in_(by_id), transfers.c.credit_account_id.in_(by_id)),
        transfers.c.kind != "pending",
        transfers.c.created_at >= start - timedelta(days=1), transfers.c.created_at < end + timedelta(days=1),
    ).order_by(transfers.c.seq)).all()
    charge_ids = _charge_ids(connection, rows)
    booked: dict[AccountKey, list[Entry]] = {}
    for row in rows:
        key = by_id.get(row.debit_account_id) or by_id[row.credit_account_id]
        booked.setdefault(key, []).append(_entry(row, charge_ids))
    return booked


def _entry(row, charge_ids: dict[tuple[str, int, datetime], str]) -> Entry:
    status = SUCCEEDED if row.kind in ("direct", "post_pending") else FAILED
    if row.kind == "direct" and row.code in CHARGE_CODES and row.reference:
        purpose = f"{CHARGE_CODES[row.code]}:{row.reference}"
        operation_id = charge_ids.get((purpose, row.amount, row.created_at)) or charge_ids.get((purpose, None, None))
        if operation_id:
            return Entry(operation_id, SettlementKind.CHARGE.value, row.amount, row.currency, status, row.created_at, row.id)
    if row.kind != "direct" and row.code in RESOLUTION_CODES and row.pending_id:
        kind, suffix = RESOLUTION_CODES[row.code]
        if row.pending_id.endswith(suffix):
            return Entry(row.pending_id[: -len(suffix)], kind, row.amount, row.currency, status, row.created_at, row.id)
    # Booked against a clearing account for no operation we know of: the connector cannot know it.
    return Entry(row.id, "unknown", row.amount, row.currency, status, row.created_at, row.id)


def _charge_ids(connection: Connection, rows: Iterable) -> dict[tuple, str]:
    """Succeeded charges by purpose: keyed (purpose, amount, settled at) — the settling
    transaction stamps the charge and its funding transfer with one ``now`` — and, when a
    purpose had one succeeded charge only, (purpose, None, None)."""
    purposes = {f"{CHARGE_CODES[row.code]}:{row.reference}" for row in rows
                if row.kind == "direct" and row.code in CHARGE_CODES and row.reference}
    if not purposes:
        return {}
    found: dict[tuple, str] = {}
    seen: dict[str, int] = {}
    for purpose_chunk in _chunks(sorted(purposes), 500):
        for charge in connection.execute(sa.select(charges.c.id, charges.c.purpose, charges.c.amount,
                                                   charges.c.updated_at).where(
                charges.c.purpose.in_(purpose_chunk), charges.c.status == SUCCEEDED)):
            found[(charge.purpose, charge.amount, charge.updated_at)] = charge.id
            seen[charge.purpose] = seen.get(charge.purpose, 0) + 1
            found[(charge.purpose, None, None)] = charge.id
    for purpose, count in seen.items():
        if count > 1:  # ambiguous: only the exact key may name the charge
            del found[(purpose, None, None)]
    return found


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for index in range(0, len(items), size):
        yield items[index:index + size]


CSV_COLUMNS = ("date", "account_kind", "connector", "result", "operation_id", "kind",
               "ledger_amount", "ledger_currency", "ledger_status", "ledger_at", "ledger_transfer_id",
               "connector_amount", "connector_currency", "connector_status", "connector_at", "connector_reference")


def to_csv(report: Report) -> str:
    """Every operation of the day, one line each: mismatches first, then timing differences,
    then the matched ones (amounts in minor units)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for account, line in report.lines():
        sides = []
        for entry in (line.ledger, line.connector):
            sides += (["", "", "", "", ""] if entry is None else
                      [entry.amount, entry.currency, entry.status, entry.at.isoformat(), entry.reference])
        writer.writerow([report.day.isoformat(), account.account_kind, account.connector, line.result,
                         line.operation_id, line.kind, *sides])
    return out.getvalue()


EARLIEST_DAY = date(2000, 1, 1)


def parse_day(text: str | None, *, today: date) -> date:
    """``YYYY-MM-DD`` → the day, or a 400 naming ``date``: a malformed day, one before 2000 or
    after today (UTC) has no report."""
    from amanah.core.errors import InvalidRequest

    try:
        if text is None or len(text) != 10:
            raise ValueError
        day = date.fromisoformat(text)
    except ValueError:
        raise InvalidRequest("The date must be a day written YYYY-MM-DD, e.g. 2025-03-31.", code="invalid_date",
                             param="date") from None
    if not EARLIEST_DAY <= day <= today:
        raise InvalidRequest(f"There is no report for {day.isoformat()}: the date must be between "
                             f"{EARLIEST_DAY.isoformat()} and today ({today.isoformat()}, UTC).", code="invalid_date",
                             param="date")
    return day
