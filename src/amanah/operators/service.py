"""Operator keys: create, authenticate, revoke."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from amanah.core.errors import AuthenticationFailed, NotFound
from amanah.core.ids import new_id
from amanah.core.secrets import hash_secret, new_secret
from amanah.operators.models import admin_keys

KEY_PREFIX = "ak"


@dataclass(frozen=True)
class Operator:
    key_id: str
    label: str


def create_key(connection: Connection, *, label: str, now: datetime) -> tuple[Operator, str]:
    """A new operator key; the secret is returned here and never again."""
    secret = new_secret(KEY_PREFIX)
    key_id = new_id("adk")
    connection.execute(
        admin_keys.insert().values(id=key_id, key_hash=hash_secret(secret), label=label, created_at=now)
    )
    return Operator(key_id, label), secret


def authenticate(connection: Connection, secret: str) -> Operator:
    row = connection.execute(
        sa.select(admin_keys.c.id, admin_keys.c.label).where(
            admin_keys.c.key_hash == hash_secret(secret), admin_keys.c.revoked_at.is_(None)
        )
    ).first()
    if row is None:
        raise AuthenticationFailed("The operator key is not valid.", code="invalid_api_key")
    return Operator(row.id, row.label)


def revoke_key(connection: Connection, key_id: str, *, now: datetime) -> None:
    result = connection.execute(
        admin_keys.update()
        .where(admin_keys.c.id == key_id, admin_keys.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    if result.rowcount == 0:
        raise NotFound(f"No active operator key {key_id}.")


def list_keys(connection: Connection) -> list[dict]:
    rows = connection.execute(sa.select(admin_keys.c.id, admin_keys.c.label, admin_keys.c.created_at,
                                        admin_keys.c.revoked_at).order_by(admin_keys.c.created_at))
    return [dict(row._mapping) for row in rows]


# Operator accounts (the back office) and the audit log, for other domains and the edges.
from amanah.operators.accounts import (  # noqa: E402
    NewCredentials,
    OperatorAccount,
    OperatorSession,
    change_password,
    create_account,
    disable_account,
    end_session,
    find_account,
    get_account,
    list_accounts,
    log_in,
    reset_credentials,
    session_operator,
    start_session,
    verify_csrf,
)
from amanah.operators.audit import (  # noqa: E402
    Actor,
    AuditContext,
    AuditEntry,
    actions_recorded,
    entries as audit_entries,
    record as record_audit,
)


def actor_for_key(operator: Operator) -> Actor:
    return Actor.api_key(operator.key_id, operator.label)
