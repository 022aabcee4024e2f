"""Random lifecycles of many trades against a plain model: after every step, what each trade
holds in escrow plus what it released and refunded equals what was paid, the seller's held
balance in the ledger equals the escrow of the seller's open trades, and the books verify."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from hypothesis import HealthCheck, settings as hypothesis_settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule, run_state_machine_as_test

from amanah import ledger
from amanah.core.clock import clock
from amanah.core.db import run_in_transaction
from amanah.core.errors import AppError
from amanah.ledger import AccountKind, TransferRequest
from amanah.money import Money, currency
from amanah.platforms import service as platforms
from amanah.trades import service as trades
from amanah.trades.states import ESCROW_STATES, TRANSITIONS, TradeStatus

FUNDS = 10**9


@dataclass
class Expected:
    amount: int
    status: TradeStatus = TradeStatus.AWAITING_PAYMENT
    held: int = 0
    refunded: int = 0
    released: int = 0


class TradesModel(RuleBasedStateMachine):
    def __init__(self, engine, settings) -> None:
        super().__init__()
        self.engine, self.settings = engine, settings
        self.now = clock.now()
        self.trades: dict[str, Expected] = {}

    def run(self, work):
        return run_in_transaction(self.engine, work)

    @initialize()
    def open_market(self) -> None:
        def work(c):
            platform, _ = platforms.create_platform(c, name="Model market", now=self.now)
            seller, _ = platforms.register_seller(c, platform.id, platform_seller_id="s", now=self.now,
                                                  email=f"s.{secrets.token_hex(6)}@example.com", name="Seller")
            return platform.id, seller
        self.platform_id, self.seller = self.run(work)
        self.buyer_ids = []

    def _fund(self, c, user_id: str) -> None:
        clearing = ledger.open_account(c, kind=AccountKind.CARD_CLEARING, owner_ref="model", currency="USD", now=self.now)
        wallet = ledger.open_account(c, kind=AccountKind.USER_WALLET, owner_ref=user_id, currency="USD", now=self.now)
        ledger.create_transfer(c, TransferRequest.direct(f"model_{user_id}", debit=clearing.id, credit=wallet.id,
                                                         amount=FUNDS, code="topup"), now=self.now)

    @rule(amount=st.integers(1, 100_000), fee_bps=st.integers(0, 1000), buyer=st.integers(0, 2))
    def open_and_pay(self, amount, fee_bps, buyer) -> None:
        def work(c):
            new = trades.NewTrade(out_trade_no=secrets.token_hex(8), seller_id=self.seller.id,
                                  buyer_platform_user_id=f"b{buyer}", buyer_email=f"b{buyer}.{self.platform_id[-8:].lower()}@example.com",
                                  amount=Money(amount, currency("USD")), subject="thing", fee_bps=fee_bps)
            trade, _ = trades.create_trade(c, self.platform_id, new, now=self.now)
            if trade.buyer_user_id not in self.buyer_ids:
                self.buyer_ids.append(trade.buyer_user_id)
                self._fund(c, trade.buyer_user_id)
            return trades.pay_from_balance(c, self.settings, trade.id, trade.buyer_user_id,
                                           trades.PayRequest("balance"), now=self.now)
        trade = self.run(work)
        self.trades[trade.id] = Expected(amount, TradeStatus.HELD, held=amount)

    def _attempt(self, trade_id: str, target: TradeStatus, work, *, allowed: bool | None = None) -> bool:
        """Runs ``work``; it must succeed exactly when the model allows the move."""
        expected = self.trades[trade_id]
        if allowed is None:
            allowed = target in TRANSITIONS[expected.status]
        try:
            self.run(work)
        except AppError:
            assert not allowed, f"{expected.status} → {target} was refused"
            return False
        assert allowed, f"{expected.status} → {target} was allowed"
        return True

    def _pick(self, data) -> str:
        return data.draw(st.sampled_from(list(self.trades)))

    @precondition(lambda self: self.trades)
    @rule(data=st.data())
    def ship(self, data) -> None:
        trade_id = self._pick(data)
        if self._attempt(trade_id, TradeStatus.SHIPPED, lambda c: trades.ship(c, trade_id, carrier="DHL", tracking_number="1", now=self.now)):
            self.trades[trade_id].status = TradeStatus.SHIPPED

    @precondition(lambda self: self.trades)
    @rule(data=st.data())
    def confirm(self, data) -> None:
        trade_id = self._pick(data)
        expected = self.trades[trade_id]
        buyer = self.run(lambda c: trades.load(c, trade_id)).buyer_user_id
        allowed = expected.status in (TradeStatus.HELD, TradeStatus.SHIPPED)  # not while disputed
        if self._attempt(trade_id, TradeStatus.COMPLETED, lambda c: trades.confirm(c, trade_id, buyer, now=self.now),
                         allowed=allowed):
            expected.status, expected.released, expected.held = TradeStatus.COMPLETED, expected.held, 0

    @precondition(lambda self: self.trades)
    @rule(data=st.data(), share=st.integers(1, 100))
    def refund(self, data, share) -> None:
        trade_id = self._pick(data)
        expected = self.trades[trade_id]
        left = expected.amount - expected.refunded
        amount = max(1, left * share // 100)
        target = TradeStatus.REFUNDED if amount == left else expected.status
        allowed = expected.status in ESCROW_STATES | {TradeStatus.COMPLETED}
        if expected.status is TradeStatus.COMPLETED and amount > self._seller_available():
            allowed = False  # the seller's balance is short
        if self._attempt(trade_id, target, lambda c: trades.refund(c, trade_id, amount=amount, reason="model", now=self.now),
                         allowed=allowed):
            expected.refunded += amount
            if expected.status in ESCROW_STATES:
                expected.held -= amount
            else:
                expected.released -= amount
            if amount == left:
                expected.status = TradeStatus.REFUNDED

    @precondition(lambda self: self.trades)
    @rule(data=st.data())
    def dispute(self, data) -> None:
        trade_id = self._pick(data)
        buyer = self.run(lambda c: trades.load(c, trade_id)).buyer_user_id
        if self._attempt(trade_id, TradeStatus.DISPUTED, lambda c: trades.open_dispute(c, trade_id, buyer, reason="x", now=self.now)):
            self.trades[trade_id].status = TradeStatus.DISPUTED

    @precondition(lambda self: self.trades)
    @rule(data=st.data(), outcome=st.sampled_from(["refund_buyer", "release_seller"]))
    def resolve(self, data, outcome) -> None:
        trade_id = self._pick(data)
        expected = self.trades[trade_id]
        target = TradeStatus.REFUNDED if outcome == "refund_buyer" else TradeStatus.COMPLETED
        if self._attempt(trade_id, target, lambda c: trades.resolve(c, trade_id, outcome=outcome, buyer_amount=None, now=self.now),
                         allowed=expected.status is TradeStatus.DISPUTED):
            if outcome == "refund_buyer":
                expected.refunded += expected.held
            else:
                expected.released += expected.held
            expected.held, expected.status = 0, target

    @rule(days=st.integers(1, 20))
    def time_passes(self, days) -> None:
        self.now += timedelta(days=days)
        self.run(lambda c: trades.release_due(c, now=self.now))
        for trade_id, expected in self.trades.items():
            if expected.status is TradeStatus.SHIPPED:
                trade = self.run(lambda c: trades.load(c, trade_id))
                if trade.status is TradeStatus.COMPLETED:
                    expected.status, expected.released, expected.held = TradeStatus.COMPLETED, expected.held, 0

    def _seller_available(self) -> int:
        return self.run(lambda c: ledger.open_account(c, kind=AccountKind.USER_WALLET, owner_ref=self.seller.user_id,
                                                      currency="USD", now=self.now)).available

    @invariant()
    def escrow_matches_the_model(self) -> None:
        if not self.trades:
            return
        for trade_id, expected in self.trades.items():
            trade = self.run(lambda c: trades.load(c, trade_id))
            assert (trade.status, trade.held_amount, trade.refunded_amount) == (expected.status, expected.held, expected.refunded)
            assert trade.held_amount + trade.refunded_amount + expected.released == trade.amount
        seller_wallet = self.run(lambda c: ledger.open_account(c, kind=AccountKind.USER_WALLET, owner_ref=self.seller.user_id,
                                                               currency="USD", now=self.now))
        assert seller_wallet.credits_pending == sum(e.held for e in self.trades.values())

    def teardown(self) -> None:
        report = self.run(ledger.verify)
        assert report.ok, report.violations


def test_trades_keep_every_cent_accounted_for(engine, settings):
    run_state_machine_as_test(
        lambda: TradesModel(engine, settings),
        settings=hypothesis_settings(max_examples=25, stateful_step_count=25, deadline=None,
                                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]),
    )
