"""The ledger's worked examples: they read as its specification."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from amanah import ledger
from amanah.core.db import run_in_transaction
from amanah.core.errors import Conflict, InsufficientFunds
from amanah.ledger import AccountKind, TransferRequest as T

from .conftest import new_id


@pytest.fixture
def card_clearing(books):
    return books.open(AccountKind.CARD_CLEARING)


@pytest.fixture
def wallet(books):
    return books.open(AccountKind.USER_WALLET)


@pytest.fixture
def escrow(books):
    return books.open(AccountKind.ESCROW)


@pytest.fixture
def funded_wallet(books, card_clearing, wallet):
    assert books.results(T.direct(new_id(), debit=card_clearing.id, credit=wallet.id, amount=10_000, code="topup")) == ["ok"]
    return wallet


class TestFundingAWalletFromCardClearing:
    def test_the_wallet_is_credited_and_the_clearing_account_debited(self, books, card_clearing, wallet):
        outcome, = books.submit(T.direct(new_id(), debit=card_clearing.id, credit=wallet.id, amount=2599, code="topup"))
        assert outcome.result is ledger.TransferResult.OK
        assert outcome.transfer.amount == 2599 and outcome.transfer.currency == "USD"
        assert books.account(wallet.id).credits_posted == 2599
        assert books.account(wallet.id).available == 2599
        assert books.account(card_clearing.id).debits_posted == 2599

    def test_accounts_of_different_currencies_cannot_be_joined(self, books, wallet):
        euro_clearing = books.open(AccountKind.CARD_CLEARING, "EUR")
        assert books.results(T.direct(new_id(), debit=euro_clearing.id, credit=wallet.id, amount=1, code="topup")) == ["currency_mismatch"]

    @pytest.mark.parametrize("amount", [0, -5, 10**15 + 1])
    def test_an_amount_out_of_range_is_refused(self, books, card_clearing, wallet, amount):
        assert books.results(T.direct(new_id(), debit=card_clearing.id, credit=wallet.id, amount=amount, code="topup")) == ["amount_invalid"]

    def test_an_account_cannot_pay_itself(self, books, card_clearing):
        assert books.results(T.direct(new_id(), debit=card_clearing.id, credit=card_clearing.id, amount=1, code="x")) == ["accounts_must_be_different"]

    def test_an_unknown_account_is_named(self, books, wallet):
        assert books.results(T.direct(new_id(), debit=10**12, credit=wallet.id, amount=1, code="x")) == ["debit_account_not_found"]


class TestHoldingForATrade:
    def test_a_hold_moves_the_money_out_of_available_into_pending(self, books, funded_wallet, escrow):
        books.submit(T.pending(new_id(), debit=funded_wallet.id, credit=escrow.id, amount=2500, code="trade_hold"))
        buyer = books.account(funded_wallet.id)
        assert (buyer.available, buyer.debits_pending) == (7500, 2500)
        assert books.account(escrow.id).credits_pending == 2500

    def test_posting_part_of_a_hold_returns_the_rest(self, books, funded_wallet, escrow):
        hold = new_id("hold")
        books.submit(T.pending(hold, debit=funded_wallet.id, credit=escrow.id, amount=2500, code="trade_hold"))
        assert books.results(T.post(new_id(), pending_id=hold, amount=2000, code="trade_release")) == ["ok"]
        buyer, held = books.account(funded_wallet.id), books.account(escrow.id)
        assert (buyer.available, buyer.debits_pending, buyer.debits_posted) == (8000, 0, 2000)
        assert (held.credits_posted, held.credits_pending) == (2000, 0)

    def test_voiding_a_hold_returns_everything(self, books, funded_wallet, escrow):
        hold = new_id("hold")
        books.submit(T.pending(hold, debit=funded_wallet.id, credit=escrow.id, amount=2500, code="trade_hold"))
        assert books.results(T.void(new_id(), pending_id=hold, code="trade_cancel")) == ["ok"]
        assert books.account(funded_wallet.id).available == 10_000
        assert books.account(escrow.id).credits_pending == 0

    def test_a_hold_is_resolved_at_most_once(self, books, funded_wallet, escrow):
        hold = new_id("hold")
        books.submit(T.pending(hold, debit=funded_wallet.id, credit=escrow.id, amount=2500, code="trade_hold"))
        books.submit(T.post(new_id(), pending_id=hold, code="trade_release"))
        assert books.results(T.post(new_id(), pending_id=hold, code="trade_release")) == ["pending_transfer_already_posted"]
        assert books.results(T.void(new_id(), pending_id=hold, code="trade_cancel")) == ["pending_transfer_already_posted"]
        assert books.account(escrow.id).credits_posted == 2500

    def test_posting_more_than_was_held_is_refused(self, books, funded_wallet, escrow):
        hold = new_id("hold")
        books.submit(T.pending(hold, debit=funded_wallet.id, credit=escrow.id, amount=2500, code="trade_hold"))
        assert books.results(T.post(new_id(), pending_id=hold, amount=2501, code="trade_release")) == ["exceeds_pending_transfer_amount"]

    def test_only_a_hold_can_be_posted(self, books, card_clearing, wallet):
        direct = new_id()
        books.submit(T.direct(direct, debit=card_clearing.id, credit=wallet.id, amount=5, code="topup"))
        assert books.results(T.post(new_id(), pending_id=direct, code="x")) == ["pending_transfer_not_pending"]
        assert books.results(T.post(new_id(), pending_id="no_such_hold", code="x")) == ["pending_transfer_not_found"]


class TestHoldsThatTimeOut:
    def test_an_expired_hold_returns_the_money_and_can_no_longer_be_posted(self, books, funded_wallet, escrow, engine):
        hold = new_id("hold")
        books.submit(T.pending(hold, debit=funded_wallet.id, credit=escrow.id, amount=700, code="trade_hold", timeout_s=60))
        later = books.now + timedelta(seconds=61)
        assert books.results(T.post(new_id(), pending_id=hold, code="x"), now=later) == ["pending_transfer_expired"]
        expired = run_in_transaction(engine, lambda c: ledger.expire_due(c, now=later))
        assert expired >= 1
        assert books.account(funded_wallet.id).available == 10_000
        assert books.results(T.void(new_id(), pending_id=hold, code="x"), now=later) == ["pending_transfer_expired"]

    def test_a_hold_not_yet_due_is_left_alone(self, books, funded_wallet, escrow, engine):
        hold = new_id("hold")
        books.submit(T.pending(hold, debit=funded_wallet.id, credit=escrow.id, amount=700, code="trade_hold", timeout_s=3600))
        run_in_transaction(engine, lambda c: ledger.expire_due(c, now=books.now + timedelta(seconds=10)))
        assert books.account(funded_wallet.id).debits_pending == 700
        assert books.results(T.post(new_id(), pending_id=hold, code="x")) == ["ok"]


class TestOverdraft:
    def test_a_wallet_cannot_pay_more_than_it_holds_and_nothing_moves(self, books, funded_wallet, escrow):
        assert books.results(T.direct(new_id(), debit=funded_wallet.id, credit=escrow.id, amount=10_001, code="pay")) == ["exceeds_credits"]
        assert books.account(funded_wallet.id).available == 10_000
        assert books.account(escrow.id).credits_posted == 0

    def test_held_money_cannot_be_spent_twice(self, books, funded_wallet, escrow):
        books.submit(T.pending(new_id(), debit=funded_wallet.id, credit=escrow.id, amount=6000, code="trade_hold"))
        assert books.results(T.pending(new_id(), debit=funded_wallet.id, credit=escrow.id, amount=6000, code="trade_hold")) == ["exceeds_credits"]

    def test_create_transfer_raises_insufficient_funds(self, engine, books, funded_wallet, escrow):
        with pytest.raises(InsufficientFunds) as raised:
            run_in_transaction(engine, lambda c: ledger.create_transfer(
                c, T.direct(new_id(), debit=funded_wallet.id, credit=escrow.id, amount=99_999, code="pay"), now=books.now))
        assert raised.value.http_status == 402

    def test_a_failing_transfer_does_not_fail_its_unlinked_neighbours(self, books, funded_wallet, escrow):
        results = books.results(
            T.direct(new_id(), debit=funded_wallet.id, credit=escrow.id, amount=4000, code="pay"),
            T.direct(new_id(), debit=funded_wallet.id, credit=escrow.id, amount=7000, code="pay"),
            T.direct(new_id(), debit=funded_wallet.id, credit=escrow.id, amount=6000, code="pay"),
        )
        assert results == ["ok", "exceeds_credits", "ok"]
        assert books.account(funded_wallet.id).available == 0


class TestReplayingATransferId:
    def test_the_same_id_with_the_same_fields_is_applied_once(self, books, card_clearing, wallet):
        transfer = T.direct(new_id(), debit=card_clearing.id, credit=wallet.id, amount=500, code="topup")
        first, = books.submit(transfer)
        again, = books.submit(transfer)
        assert again.result is ledger.TransferResult.EXISTS
        assert (again.transfer.id, again.transfer.amount, again.transfer.created_at) == (
            first.transfer.id, first.transfer.amount, first.transfer.created_at)
        assert books.account(wallet.id).credits_posted == 500

    def test_the_same_id_twice_in_one_batch_is_applied_once(self, books, card_clearing, wallet):
        transfer = T.direct(new_id(), debit=card_clearing.id, credit=wallet.id, amount=500, code="topup")
        assert books.results(transfer, transfer) == ["ok", "exists"]
        assert books.account(wallet.id).credits_posted == 500

    def test_the_same_id_with_other_fields_is_refused(self, books, card_clearing, wallet, engine):
        transfer_id = new_id()
        books.submit(T.direct(transfer_id, debit=card_clearing.id, credit=wallet.id, amount=500, code="topup"))
        assert books.results(T.direct(transfer_id, debit=card_clearing.id, credit=wallet.id, amount=501, code="topup")) == ["id_already_exists"]
        with pytest.raises(Conflict):
            run_in_transaction(engine, lambda c: ledger.create_transfer(
                c, T.direct(transfer_id, debit=card_clearing.id, credit=wallet.id, amount=1, code="topup"), now=books.now))

    def test_replaying_a_post_after_it_happened_reports_exists(self, books, funded_wallet, escrow):
        hold, post = new_id("hold"), new_id("post")
        books.submit(T.pending(hold, debit=funded_wallet.id, credit=escrow.id, amount=300, code="trade_hold"))
        assert books.results(T.post(post, pending_id=hold, code="trade_release")) == ["ok"]
        assert books.results(T.post(post, pending_id=hold, code="trade_release")) == ["exists"]
        assert books.account(escrow.id).credits_posted == 300


class TestLinkedTransfers:
    def test_a_chain_is_applied_all_or_nothing(self, books, funded_wallet, escrow):
        fees = books.open(AccountKind.PLATFORM_FEES)
        results = books.results(
            T.direct(new_id(), debit=funded_wallet.id, credit=escrow.id, amount=9000, code="pay", linked=True),
            T.direct(new_id(), debit=escrow.id, credit=fees.id, amount=9500, code="fee"),
        )
        assert results == ["linked_event_failed", "exceeds_credits"]
        assert books.account(funded_wallet.id).available == 10_000
        assert books.account(escrow.id).credits_posted == 0

    def test_a_chain_left_open_at_the_end_of_a_batch_is_refused(self, books, funded_wallet, escrow):
        results = books.results(
            T.direct(new_id(), debit=funded_wallet.id, credit=escrow.id, amount=1, code="pay", linked=True),
        )
        assert results == ["linked_event_chain_open"]
        assert books.account(funded_wallet.id).available == 10_000

    def test_create_linked_raises_the_real_reason(self, engine, books, funded_wallet, escrow):
        with pytest.raises(InsufficientFunds):
            run_in_transaction(engine, lambda c: ledger.create_linked(c, [
                T.direct(new_id(), debit=funded_wallet.id, credit=escrow.id, amount=100, code="pay"),
                T.direct(new_id(), debit=funded_wallet.id, credit=escrow.id, amount=99_999, code="pay"),
            ], now=books.now))
        assert books.account(funded_wallet.id).available == 10_000


class TestTheDatabaseGuardsTheBooksToo:
    """The second guard: even code that skips the ledger's checks cannot break the books."""

    def test_a_transfer_cannot_be_changed(self, engine, books, funded_wallet):
        with pytest.raises(sa.exc.DatabaseError):
            with engine.begin() as connection:
                connection.execute(sa.text("UPDATE ledger_transfers SET amount = amount + 1"))

    def test_a_transfer_cannot_be_deleted(self, engine, books, funded_wallet):
        with pytest.raises(sa.exc.DatabaseError):
            with engine.begin() as connection:
                connection.execute(sa.text("DELETE FROM ledger_transfers"))

    def test_a_wallet_cannot_be_made_negative_by_hand(self, engine, funded_wallet):
        with pytest.raises(sa.exc.IntegrityError):
            with engine.begin() as connection:
                connection.execute(sa.text("UPDATE ledger_accounts SET debits_posted = credits_posted + 1 WHERE id = :id"),
                                   {"id": funded_wallet.id})

    def test_a_transfer_between_currencies_cannot_be_inserted_by_hand(self, engine, books, funded_wallet, now):
        euros = books.open(AccountKind.ESCROW, "EUR")
        with pytest.raises(sa.exc.IntegrityError):
            with engine.begin() as connection:
                connection.execute(
                    sa.text("INSERT INTO ledger_transfers (id, kind, debit_account_id, credit_account_id, currency, amount, code, created_at) "
                            "VALUES ('hand', 'direct', :debit, :credit, 'USD', 1, 'x', :now)"),
                    {"debit": funded_wallet.id, "credit": euros.id, "now": now.replace(tzinfo=None)},
                )

    def test_an_overdraft_the_code_let_through_is_refused_and_not_retried(self, engine, books, funded_wallet, escrow,
                                                                          monkeypatch):
        # A bug in the first guard (the engine's limit check) must meet the second (the CHECK
        # constraints): the batch fails whole, at once, instead of being run again as if a
        # concurrent batch had got in the way.
        from amanah.ledger import engine as ledger_engine

        monkeypatch.setattr(ledger_engine.Balances, "debits_exceed_credits", lambda self: False)
        monkeypatch.setattr(ledger_engine.Balances, "assert_invariants", lambda self: None)
        with pytest.raises(sa.exc.IntegrityError):
            books.submit(T.direct(new_id(), debit=funded_wallet.id, credit=escrow.id, amount=10_001, code="pay"))
        assert books.account(funded_wallet.id).debits_posted == 0
        assert books.account(escrow.id).credits_posted == 0


class TestOpeningAccounts:
    def test_several_accounts_are_opened_at_once_in_the_order_asked(self, engine, books, now):
        existing = books.open(AccountKind.USER_WALLET, "EUR")
        owner = new_id("owner")
        keys = [(AccountKind.USER_WALLET, owner, "USD"), (AccountKind.USER_WALLET, existing.owner_ref, "EUR"),
                (AccountKind.PLATFORM_FEES, owner, "USD"), (AccountKind.USER_WALLET, owner, "USD")]
        opened = run_in_transaction(engine, lambda c: ledger.open_accounts(c, keys, now=now))
        assert [(a.kind, a.owner_ref, a.currency) for a in opened] == keys
        assert opened[1].id == existing.id and opened[0].id == opened[3].id
        assert opened[0].debits_must_not_exceed_credits and opened[2].debits_must_not_exceed_credits
        again = run_in_transaction(engine, lambda c: ledger.open_accounts(c, keys, now=now))
        assert [a.id for a in again] == [a.id for a in opened]


class TestWhatIsStoredIsWhatWasSent:
    def test_text_and_instants_survive_the_trip_exactly(self, engine, books, funded_wallet, escrow, now):
        reference = 'Ünïcødé "quoted" \\ back\tslash \u2028 end'
        hold = T.pending(new_id(), debit=funded_wallet.id, credit=escrow.id, amount=1, code="hold",
                         reference=reference, timeout_s=3600)
        [outcome] = books.submit(hold, now=now.replace(microsecond=123456))
        from amanah.ledger.models import transfers

        stored = run_in_transaction(engine, lambda c: c.execute(
            sa.select(transfers.c.reference, transfers.c.created_at, transfers.c.expires_at)
            .where(transfers.c.id == hold.id)).one())
        assert outcome.result.value == "ok" and stored.reference == reference
        created = now.replace(microsecond=123456)
        assert (stored.created_at, stored.expires_at) == (outcome.transfer.created_at, outcome.transfer.expires_at)
        assert outcome.transfer.created_at == created and outcome.transfer.expires_at == created + timedelta(hours=1)
