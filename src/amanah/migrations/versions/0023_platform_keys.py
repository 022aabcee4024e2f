"""Platform keys that can be rotated and revoked (issue 27): ``platform_keys``.

Revision ID: 0023_platform_keys
Revises: 0021_sso_consent
Create Date: 2026-12-07

A platform had one key, its hash in ``platforms.key_hash``; a leaked key could only be changed by
editing the database. Now a platform has any number of keys, each with its own lifetime:
``expires_at`` (a rotation's grace period for the key it replaces) and ``revoked_at`` (an
operator's revocation, at once). Every existing ``platforms.key_hash`` becomes one active key of
its platform (no end, no revocation; its ``last4`` is unknown), and the column goes: the keys
table is the one place a key is checked. ``platforms.disabled_at`` (migration 0006) disables the
whole platform.

The key check is one indexed look-up (``uq_platform_keys_key_hash``) joined to the platform by
primary key. CHECK constraints keep the moments in order.
"""

import os
import time

import sqlalchemy as sa
from alembic import op

revision = "0023_platform_keys"
down_revision = "0021_sso_consent"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _key_id() -> str:
    """A ``pk_`` id as ``core.ids.new_id`` makes it (the migration does not import the app)."""
    value = ((time.time_ns() // 1_000_000) << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        value, digit = divmod(value, 32)
        chars.append(_ALPHABET[digit])
    return "pk_" + "".join(reversed(chars))


def upgrade() -> None:
    op.create_table(
        "platform_keys",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("platform_id", sa.String(32), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("last4", sa.String(4), nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("expires_at", Timestamp, nullable=True),
        sa.Column("revoked_at", Timestamp, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_platform_keys"),
        sa.ForeignKeyConstraint(["platform_id"], ["platforms.id"], name="fk_platform_keys_platform_id_platforms"),
        sa.UniqueConstraint("key_hash", name="uq_platform_keys_key_hash"),
        sa.CheckConstraint("expires_at IS NULL OR expires_at >= created_at",
                           name="ck_platform_keys_expires_after_created"),
        sa.CheckConstraint("revoked_at IS NULL OR revoked_at >= created_at",
                           name="ck_platform_keys_revoked_after_created"),
    )
    op.create_index("ix_platform_keys_platform_id", "platform_keys", ["platform_id", "created_at"])
    bind = op.get_bind()
    for platform_id, in bind.execute(sa.text("SELECT id FROM platforms")).all():
        bind.execute(sa.text("INSERT INTO platform_keys (id, platform_id, key_hash, created_at) "
                             "SELECT :key_id, id, key_hash, created_at FROM platforms WHERE id = :platform_id"),
                     {"key_id": _key_id(), "platform_id": platform_id})
    _recreating_platforms_on_sqlite(bind)
    with op.batch_alter_table("platforms") as batch:
        batch.drop_constraint("uq_platforms_key_hash", type_="unique")
        batch.drop_column("key_hash")


def _recreating_platforms_on_sqlite(bind) -> None:
    """SQLite's batch mode copies ``platforms`` to a new table and drops the old one; with rows in
    other tables naming it (sellers, these keys), the drop's implicit DELETE would break their
    foreign keys for a moment. Deferred, they are checked at commit, when the copy has the ids."""
    if bind.dialect.name == "sqlite":
        bind.exec_driver_sql("PRAGMA defer_foreign_keys = ON")


def downgrade() -> None:
    """Each platform keeps its newest key that still works (or, failing that, its newest key)."""
    bind = op.get_bind()
    _recreating_platforms_on_sqlite(bind)
    with op.batch_alter_table("platforms") as batch:
        batch.add_column(sa.Column("key_hash", sa.String(64), nullable=True))
    for platform_id, in bind.execute(sa.text("SELECT id FROM platforms")).all():
        key_hash = bind.execute(sa.text(
            "SELECT key_hash FROM platform_keys WHERE platform_id = :p "
            "ORDER BY (revoked_at IS NULL AND expires_at IS NULL) DESC, created_at DESC LIMIT 1"),
            {"p": platform_id}).scalar()
        bind.execute(sa.text("UPDATE platforms SET key_hash = :h WHERE id = :p"),
                     {"h": key_hash or ("none-" + platform_id)[:64], "p": platform_id})
    with op.batch_alter_table("platforms") as batch:
        batch.alter_column("key_hash", existing_type=sa.String(64), nullable=False)
        batch.create_unique_constraint("uq_platforms_key_hash", ["key_hash"])
    op.drop_index("ix_platform_keys_platform_id", table_name="platform_keys")
    op.drop_table("platform_keys")
