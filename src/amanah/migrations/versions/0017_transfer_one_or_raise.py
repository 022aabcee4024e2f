"""The ledger's fast path for a statement that must write nothing unless the transfer is made.

Revision ID: 0017_transfer_one_or_raise
Revises: 0016_ledger_transfer_one_lean
Create Date: 2026-12-05

``ledger_transfer_one`` returns NULL, having written nothing, when the transfer is not plainly
valid; its caller then lets the engine judge it, in the same transaction. A single statement
that writes other rows too (a trade paid in one statement, ``trades.pay_from_balance_at_once``)
cannot do that: it calls ``ledger_transfer_one_or_raise``, which raises SQLSTATE ``AMN01``
instead of returning NULL, so that the whole statement is rolled back and its caller goes the
long way. Same arguments, same answer otherwise.
"""

from alembic import op

revision = "0017_transfer_one_or_raise"
down_revision = "0016_ledger_transfer_one_lean"
branch_labels = None
depends_on = None

FUNCTION = """
CREATE OR REPLACE FUNCTION ledger_transfer_one_or_raise(
    p_id text, p_kind text, p_debit bigint, p_credit bigint, p_amount bigint, p_timeout_s integer,
    p_expires_at timestamptz, p_code text, p_reference text, p_now timestamptz
) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    moved text := ledger_transfer_one(p_id, p_kind, p_debit, p_credit, p_amount, p_timeout_s, p_expires_at,
                                      p_code, p_reference, p_now);
BEGIN
    IF moved IS NULL THEN
        RAISE EXCEPTION 'transfer % is not plainly valid: the engine must judge it', p_id USING ERRCODE = 'AMN01';
    END IF;
    RETURN moved;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION ledger_transfer_one_or_raise")
