"""Conversion in the ledger: two linked transfers through the FX liquidity accounts, the
spread into FX revenue, all or nothing with the payment; the books still balance."""

from __future__ import annotations

import secrets
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from amanah import ledger
from amanah.core.errors import InsufficientFunds
from amanah.fx import service
from amanah.ledger import AccountKind, TransferRequest as T
from amanah.money import CURRENCIES, USD, Money


def open_account(fx, kind: AccountKind, currency: str) -> ledger.Account:
    owner = f"test_{secrets.token_hex(6)}"
    return fx.run(lambda c: ledger.open_account(c, kind=kind, owner_ref=owner, currency=currency, now=fx.now))


def balances(fx, *account_ids: int) -> dict[int, int]:
    """Each account's posted credits less debits."""
    def read(connection):
        return {i: (a := ledger.get_account(connection, i)).credits_posted - a.debits_posted for i in account_ids}
    return fx.run(read)


def fx_accounts(fx, sell: str, buy: str) -> tuple[int, int, int]:
    return fx.run(lambda c: (service.liquidity_account(c, sell, now=fx.now).id,
                             service.liquidity_account(c, buy, now=fx.now).id,
                             service.revenue_account(c, sell, now=fx.now).id))


def pay(fx, quote, payer: int, payee: int, prefix: str | None = None):
    prefix = prefix or f"pay_{secrets.token_hex(6)}"

    def work(connection):
        locked = service.lock_quote(connection, quote.id, used_by=prefix, now=fx.now)
        return service.convert_in_ledger(connection, quote=locked, from_account_id=payer,
                                         to_account_id=payee, transfer_id_prefix=prefix, now=fx.now)
    return fx.run(work)


class TestPayingInRoublesForADollarPrice:
    @pytest.fixture
    def quote(self, fx):
        fx.store(("USD", "RUB", "92.5"), source="manual")
        return fx.quote("RUB", Money(2599, USD))

    def test_the_payer_pays_the_quote_and_the_payee_gets_the_exact_price(self, fx, quote):
        payer, payee = open_account(fx, AccountKind.CARD_CLEARING, "RUB"), open_account(fx, AccountKind.USER_WALLET, "USD")
        sell_liquidity, buy_liquidity, revenue = fx_accounts(fx, "RUB", "USD")
        before = balances(fx, sell_liquidity, buy_liquidity, revenue)
        transfers = pay(fx, quote, payer.id, payee.id, prefix="trd_example")
        assert [(t.id, t.code, t.currency, t.amount, t.reference) for t in transfers] == [
            ("trd_example:fx_sell", "fx_sell", "RUB", 244014, quote.id),
            ("trd_example:fx_spread", "fx_spread", "RUB", 3606, quote.id),
            ("trd_example:fx_buy", "fx_buy", "USD", 2599, quote.id),
        ]
        after = balances(fx, payer.id, payee.id, sell_liquidity, buy_liquidity, revenue)
        assert (after[payer.id], after[payee.id]) == (-244014, 2599)
        assert after[sell_liquidity] - before[sell_liquidity] == 244014 - 3606
        assert after[buy_liquidity] - before[buy_liquidity] == -2599
        assert after[revenue] - before[revenue] == 3606

    def test_a_payer_without_enough_money_pays_nothing_and_the_quote_stays_open(self, fx, quote):
        wallet, payee = open_account(fx, AccountKind.USER_WALLET, "RUB"), open_account(fx, AccountKind.USER_WALLET, "USD")
        with pytest.raises(InsufficientFunds):
            pay(fx, quote, wallet.id, payee.id)
        assert balances(fx, wallet.id, payee.id) == {wallet.id: 0, payee.id: 0}
        assert fx.run(lambda c: service.get_quote(c, quote.id)).used_at is None

    def test_the_transfers_join_the_callers_own_in_one_linked_batch(self, fx, quote):
        clearing = open_account(fx, AccountKind.CARD_CLEARING, "RUB")
        wallet, escrow = open_account(fx, AccountKind.USER_WALLET, "USD"), open_account(fx, AccountKind.ESCROW, "USD")

        def pay_into_escrow(connection, amount):
            locked = service.lock_quote(connection, quote.id, used_by="trd_linked", now=fx.now)
            conversion = service.conversion_transfers(
                connection, quote=locked, from_account_id=clearing.id, to_account_id=wallet.id,
                transfer_id_prefix=f"trd_linked_{amount}", now=fx.now)
            hold = T.pending(f"trd_linked_{amount}:hold", debit=wallet.id, credit=escrow.id, amount=amount, code="trade_hold")
            return ledger.create_linked(connection, [*conversion, hold], now=fx.now)

        with pytest.raises(InsufficientFunds):  # the hold asks a cent more than the conversion brings
            fx.run(lambda c: pay_into_escrow(c, 2600))
        assert balances(fx, clearing.id, wallet.id) == {clearing.id: 0, wallet.id: 0}
        assert len(fx.run(lambda c: pay_into_escrow(c, 2599))) == 4
        assert fx.run(lambda c: ledger.get_account(c, escrow.id)).credits_pending == 2599

    def test_the_requests_close_their_own_chain_unless_asked_to_link_on(self, fx, quote):
        def requests(connection):
            locked = service.lock_quote(connection, quote.id, used_by="trd_chain", now=fx.now)
            return [service.conversion_transfers(connection, quote=locked, from_account_id=1, to_account_id=2,
                                                 transfer_id_prefix="trd_chain", now=fx.now, link_to_next=link)
                    for link in (False, True)]
        closed, open_ended = fx.run(requests)
        assert [r.linked for r in closed] == [True, True, False]
        assert [r.linked for r in open_ended] == [True, True, True]

    def test_an_unlocked_quote_cannot_be_converted(self, fx, quote):
        with pytest.raises(AssertionError, match="lock the quote"):
            fx.run(lambda c: service.conversion_transfers(
                c, quote=quote, from_account_id=1, to_account_id=2, transfer_id_prefix="x", now=fx.now))


class TestAZeroSpread:
    def test_no_revenue_transfer_is_made(self, fx, fx_settings):
        fx.settings = fx_settings.model_copy(update={"fx_spread_bps": 0})
        fx.store(("EUR", "JPY", "160"))
        quote = fx.quote("EUR", Money(16000, CURRENCIES["JPY"]))
        assert quote.sell == Money(10000, CURRENCIES["EUR"]) and quote.spread.is_zero
        payer, payee = open_account(fx, AccountKind.CARD_CLEARING, "EUR"), open_account(fx, AccountKind.USER_WALLET, "JPY")
        assert [t.code for t in pay(fx, quote, payer.id, payee.id)] == ["fx_sell", "fx_buy"]


class TestTheBooksStillBalance:
    def test_ledger_verify_passes_after_conversions(self, fx):
        fx.store(("EUR", "USD", "1.08"), ("EUR", "KRW", "1450"), ("EUR", "RUB", "100"))
        for sell, buy, amount in (("KRW", "USD", 999), ("RUB", "KRW", 10_000), ("USD", "RUB", 12_345)):
            quote = fx.quote(sell, Money(amount, CURRENCIES[buy]))
            pay(fx, quote, open_account(fx, AccountKind.CARD_CLEARING, sell).id,
                open_account(fx, AccountKind.USER_WALLET, buy).id)
        report = fx.run(ledger.verify)
        assert report.ok, report.violations


pairs = st.tuples(st.sampled_from(list(CURRENCIES)), st.sampled_from(list(CURRENCIES))).filter(lambda p: p[0] != p[1])


class TestNoMinorUnitIsCreatedOrLost:
    @hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(pair=pairs, amount=st.integers(1, 10**8),
           mid=st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("20000"), places=4),
           spread_bps=st.integers(0, 500))
    def test_across_a_conversion_and_its_transfers(self, fx, pair, amount, mid, spread_bps):
        sell, buy = pair
        fx.settings = fx.settings.model_copy(update={"fx_spread_bps": spread_bps})
        # One orientation per pair, so that each example replaces the last one's rate of the day.
        fx.store((buy, sell, str(mid)) if buy < sell else (sell, buy, str(mid)))
        sell_per_buy = Fraction(mid) if buy < sell else 1 / Fraction(mid)
        quote = fx.quote(sell, Money(amount, CURRENCIES[buy]))
        payer, payee = open_account(fx, AccountKind.CARD_CLEARING, sell), open_account(fx, AccountKind.USER_WALLET, buy)
        watched = (payer.id, payee.id, *fx_accounts(fx, sell, buy))
        before = balances(fx, *watched)
        pay(fx, quote, payer.id, payee.id)
        after = balances(fx, *watched)
        change = {i: after[i] - before[i] for i in watched}
        sell_liquidity, buy_liquidity, revenue = watched[2:]
        assert change[payer.id] + change[sell_liquidity] + change[revenue] == 0  # sell currency
        assert change[payee.id] + change[buy_liquidity] == 0  # buy currency
        assert (change[payer.id], change[payee.id], change[revenue]) == (
            -quote.sell.amount_minor, amount, quote.spread.amount_minor)
        exponent_shift = Fraction(10) ** (CURRENCIES[sell].exponent - CURRENCIES[buy].exponent)
        owed = amount * sell_per_buy * Fraction(10_000 + spread_bps, 10_000) * exponent_shift
        # Charged enough, and at most one minor unit more than the rate (12 significant
        # digits, rounded up: at most 1e-11 of it too high) asks.
        assert owed <= quote.sell.amount_minor < owed * (1 + Fraction(1, 10**11)) + 1
