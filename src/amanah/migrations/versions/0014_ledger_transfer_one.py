"""The ledger's fast path on PostgreSQL: one plainly valid transfer applied by one call.

``ledger_transfer_one`` locks both accounts (in id order, as every batch does), and only if the
transfer is plainly valid — both accounts exist, they differ, one currency, no limit broken,
the id unused — inserts it and adds it to both balances; it returns the currency moved. Anything
else returns NULL having written nothing, and the ledger's engine (Python) judges the transfer
and names the reason. So the engine stays the one place where results are decided; this only
saves it two round trips for the common case. The CHECK constraints still judge the balances.

Revision ID: 0014_ledger_transfer_one
Revises: 0013_backoffice
Create Date: 2026-12-01
"""

from alembic import op

revision = "0014_ledger_transfer_one"
down_revision = "0013_backoffice"
branch_labels = None
depends_on = None

FUNCTION = """
CREATE OR REPLACE FUNCTION ledger_transfer_one(
    p_id text, p_kind text, p_debit bigint, p_credit bigint, p_amount bigint, p_timeout_s integer,
    p_expires_at timestamptz, p_code text, p_reference text, p_now timestamptz
) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    debit record;
    credit record;
    posted bigint := CASE WHEN p_kind = 'direct' THEN p_amount ELSE 0 END;
    held bigint := CASE WHEN p_kind = 'pending' THEN p_amount ELSE 0 END;
BEGIN
    IF p_kind NOT IN ('direct', 'pending') OR p_debit = p_credit OR p_amount <= 0 THEN
        RETURN NULL;
    END IF;
    PERFORM 1 FROM ledger_accounts WHERE id IN (p_debit, p_credit) ORDER BY id FOR UPDATE;
    SELECT * INTO debit FROM ledger_accounts WHERE id = p_debit;
    SELECT * INTO credit FROM ledger_accounts WHERE id = p_credit;
    IF debit.id IS NULL OR credit.id IS NULL OR debit.currency <> credit.currency
        OR (debit.debits_must_not_exceed_credits
            AND debit.debits_posted + debit.debits_pending + p_amount > debit.credits_posted)
        OR (credit.credits_must_not_exceed_debits
            AND credit.credits_posted + credit.credits_pending + p_amount > credit.debits_posted)
        OR EXISTS (SELECT 1 FROM ledger_transfers WHERE id = p_id) THEN
        RETURN NULL;
    END IF;
    INSERT INTO ledger_transfers (id, kind, debit_account_id, credit_account_id, currency, amount,
                                  timeout_s, expires_at, code, reference, created_at)
    VALUES (p_id, p_kind, p_debit, p_credit, debit.currency, p_amount, p_timeout_s, p_expires_at,
            p_code, p_reference, p_now);
    UPDATE ledger_accounts SET debits_posted = debits_posted + posted, debits_pending = debits_pending + held
        WHERE id = p_debit;
    UPDATE ledger_accounts SET credits_posted = credits_posted + posted, credits_pending = credits_pending + held
        WHERE id = p_credit;
    RETURN debit.currency;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION ledger_transfer_one(text, text, bigint, bigint, bigint, integer, timestamptz, "
                   "text, text, timestamptz)")
