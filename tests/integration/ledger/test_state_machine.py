"""Random sequences of transfers, holds, posts, voids, replays and expiries, run against the
real database and a plain in-memory model of the same books; every balance is compared after
every step, and the whole journal is verified at the end of each sequence."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from amanah import ledger
from amanah.core.db import run_in_transaction
from amanah.ledger import AccountKind, TransferRequest as T

from .conftest import Books


@dataclass
class Hold:
    debit: int
    credit: int
    amount: int
    expires_at: object
    state: str = "pending"  # pending, posted, voided, expired


class LedgerModel(RuleBasedStateMachine):
    """The reference: balances are four integers per account, changed by the obvious rules."""

    def __init__(self, engine) -> None:
        super().__init__()
        self.engine = engine
        self.books = Books(self.engine, ledger_now())
        self.balances: dict[int, list[int]] = {}
        self.never_negative: dict[int, bool] = {}
        self.holds: dict[str, Hold] = {}
        self.sent: list[tuple[T, str]] = []  # requests that succeeded, with their result

    @initialize()
    def open_accounts(self) -> None:
        kinds = [AccountKind.CARD_CLEARING] + [AccountKind.USER_WALLET] * 3 + [AccountKind.ESCROW]
        for kind in kinds:
            account = self.books.open(kind)
            self.balances[account.id] = [0, 0, 0, 0]
            self.never_negative[account.id] = account.debits_must_not_exceed_credits
        self.ids = list(self.balances)

    def _submit(self, request: T) -> str:
        result = self.books.results(request)[0]
        if result == "ok":
            self.sent.append((request, result))
        return result

    def _would_overdraw(self, account: int, more_debits: int) -> bool:
        dp, cp, dpend, _ = self.balances[account]
        return self.never_negative[account] and dp + dpend + more_debits > cp

    @rule(debit=st.integers(0, 4), credit=st.integers(0, 4), amount=st.integers(1, 5000),
          kind=st.sampled_from(["direct", "pending"]), timeout_s=st.none() | st.integers(1, 120))
    def move(self, debit, credit, amount, kind, timeout_s) -> None:
        debit, credit = self.ids[debit], self.ids[credit]
        transfer_id = f"sm_{secrets.token_hex(8)}"
        if kind == "direct":
            request = T.direct(transfer_id, debit=debit, credit=credit, amount=amount, code="test")
        else:
            request = T.pending(transfer_id, debit=debit, credit=credit, amount=amount, code="test", timeout_s=timeout_s)
        result = self._submit(request)
        if debit == credit:
            assert result == "accounts_must_be_different"
        elif self._would_overdraw(debit, amount):
            assert result == "exceeds_credits"
        else:
            assert result == "ok"
            slot = 0 if kind == "direct" else 2
            self.balances[debit][slot] += amount
            self.balances[credit][slot + 1] += amount
            if kind == "pending":
                expires = self.books.now + timedelta(seconds=timeout_s) if timeout_s else None
                self.holds[transfer_id] = Hold(debit, credit, amount, expires)

    def _expected_resolution(self, hold: Hold, amount: int | None) -> str:
        if hold.state in ("posted", "voided", "expired"):
            return {"posted": "pending_transfer_already_posted", "voided": "pending_transfer_already_voided",
                    "expired": "pending_transfer_expired"}[hold.state]
        if hold.expires_at is not None and hold.expires_at <= self.books.now:
            return "pending_transfer_expired"
        if amount is not None and amount > hold.amount:
            return "exceeds_pending_transfer_amount"
        return "ok"

    @precondition(lambda self: self.holds)
    @rule(data=st.data(), action=st.sampled_from(["post", "void"]), amount=st.none() | st.integers(1, 5000))
    def resolve(self, data, action, amount) -> None:
        hold_id = data.draw(st.sampled_from(list(self.holds)))
        hold = self.holds[hold_id]
        transfer_id = f"sm_{secrets.token_hex(8)}"
        if action == "post":
            request = T.post(transfer_id, pending_id=hold_id, amount=amount, code="test")
        else:
            amount = None
            request = T.void(transfer_id, pending_id=hold_id, code="test")
        expected = self._expected_resolution(hold, amount)
        assert self._submit(request) == expected
        if expected == "ok":
            posted = (hold.amount if amount is None else amount) if action == "post" else 0
            self._release(hold, posted)
            hold.state = "posted" if action == "post" else "voided"

    def _release(self, hold: Hold, posted: int) -> None:
        self.balances[hold.debit][2] -= hold.amount
        self.balances[hold.credit][3] -= hold.amount
        self.balances[hold.debit][0] += posted
        self.balances[hold.credit][1] += posted

    @rule(seconds=st.integers(1, 90))
    def time_passes(self, seconds) -> None:
        self.books.now += timedelta(seconds=seconds)
        while run_in_transaction(self.engine, lambda c: ledger.expire_due(c, now=self.books.now)):
            pass
        for hold in self.holds.values():
            if hold.state == "pending" and hold.expires_at is not None and hold.expires_at <= self.books.now:
                self._release(hold, 0)
                hold.state = "expired"

    @precondition(lambda self: self.sent)
    @rule(data=st.data(), change_amount=st.booleans())
    def replay(self, data, change_amount) -> None:
        request, _ = data.draw(st.sampled_from(self.sent))
        if change_amount and request.amount is not None:
            changed = T(request.id, request.kind, request.code, request.amount + 1, request.debit_account_id,
                        request.credit_account_id, request.pending_id, request.timeout_s)
            assert self.books.results(changed) == ["id_already_exists"]
        else:
            assert self.books.results(request) == ["exists"]

    @invariant()
    def balances_match_the_model(self) -> None:
        if not self.balances:
            return
        for account_id, expected in self.balances.items():
            account = self.books.account(account_id)
            stored = [account.debits_posted, account.credits_posted, account.debits_pending, account.credits_pending]
            assert stored == expected, f"account {account_id}"
            assert min(stored) >= 0

    def teardown(self) -> None:
        report = run_in_transaction(self.engine, ledger.verify)
        assert report.ok, report.violations


def ledger_now():
    from amanah.core.clock import clock

    return clock.now()


def test_the_ledger_behaves_like_its_model(engine):
    run_state_machine_as_test(
        lambda: LedgerModel(engine),
        settings=settings(max_examples=40, stateful_step_count=30, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow]),
    )
