"""Trust (issue 27, part A): a seller link needs the person's consent; a platform's fee has an
operator-set limit; a refund after completion records what came back from whom.

Revision ID: 0020_seller_consent
Revises: 0019_partial_pending_id_index
Create Date: 2026-12-07

- ``sellers.status``: ``active``, ``pending`` (an existing account was named: the person must
  accept) or ``declined``; existing rows stay ``active``. ``sellers.decided_at``: when the person
  accepted or declined. ("My account → Marketplaces" reads them by
  ``ix_sellers_user_id``, migration 0006).
- ``platforms.fee_bps_max``: the most a platform may take of a trade, default 3000 (30%).
- ``refunds.seller_amount`` / ``refunds.fee_refund_amount``: a refund after completion comes back
  from the seller's balance and from the platform's fee account; the two add up to the refund
  (NULL for refunds out of escrow and for those made before this revision).

CHECK constraints guard the values in the database as well as in the code.
"""

import sqlalchemy as sa
from alembic import op

revision = "0020_seller_consent"
down_revision = "0019_partial_pending_id_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sellers") as batch:
        batch.add_column(sa.Column("status", sa.String(16), nullable=False, server_default="active"))
        batch.add_column(sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_check_constraint("ck_sellers_status", "status IN ('active', 'pending', 'declined')")
    with op.batch_alter_table("platforms") as batch:
        batch.add_column(sa.Column("fee_bps_max", sa.Integer, nullable=False, server_default="3000"))
        batch.create_check_constraint("ck_platforms_fee_bps_max", "fee_bps_max BETWEEN 0 AND 10000")
    with op.batch_alter_table("refunds") as batch:
        batch.add_column(sa.Column("seller_amount", sa.BigInteger, nullable=True))
        batch.add_column(sa.Column("fee_refund_amount", sa.BigInteger, nullable=True))
        batch.create_check_constraint(
            "ck_refunds_shares",
            "(seller_amount IS NULL AND fee_refund_amount IS NULL) OR (seller_amount >= 0 AND "
            "fee_refund_amount >= 0 AND seller_amount + fee_refund_amount = amount)")


def downgrade() -> None:
    with op.batch_alter_table("refunds") as batch:
        batch.drop_constraint("ck_refunds_shares", type_="check")
        batch.drop_column("fee_refund_amount")
        batch.drop_column("seller_amount")
    with op.batch_alter_table("platforms") as batch:
        batch.drop_constraint("ck_platforms_fee_bps_max", type_="check")
        batch.drop_column("fee_bps_max")
    with op.batch_alter_table("sellers") as batch:
        batch.drop_constraint("ck_sellers_status", type_="check")
        batch.drop_column("decided_at")
        batch.drop_column("status")
