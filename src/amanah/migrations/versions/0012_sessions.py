"""Sessions the user can see and end: the browser or app (User-Agent) of each session and token.

Revision ID: 0012_sessions
Revises: 0011_wind_down
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_sessions"
down_revision = "0011_wind_down"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("user_tokens", sa.Column("user_agent", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("user_tokens") as batch:
        batch.drop_column("user_agent")
