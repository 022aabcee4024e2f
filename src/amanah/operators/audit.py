"""The operator audit log: who did what, to what, when, from where, with the state before and
after. ``record`` is called by the use case inside the action's own transaction, so an action
and its row commit or roll back together. Rows are never changed: this module only inserts and
reads, and the database refuses UPDATE, DELETE and TRUNCATE (migration 0013_backoffice)."""

from __future__ import annotations

import dataclasses
import enum
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from amanah.core import limits
from amanah.core.errors import InvalidRequest
from amanah.core.ids import new_id
from amanah.operators.models import operator_audit_log


@dataclass(frozen=True)
class Actor:
    """Who acted: an operator account (back office), an operator API key, or the command line."""

    type: str
    id: str
    label: str

    @classmethod
    def account(cls, operator_id: str, email: str) -> "Actor":
        return cls("account", operator_id, email)

    @classmethod
    def api_key(cls, key_id: str, label: str) -> "Actor":
        return cls("api_key", key_id, label)

    @classmethod
    def cli(cls, system_user: str) -> "Actor":
        return cls("cli", system_user[:64] or "unknown", f"command line ({system_user[:60] or 'unknown'})")

    @property
    def changed_by(self) -> str:
        """How other tables name the actor (e.g. ``service_mode_changes.changed_by``)."""
        if self.type == "cli":
            return "cli"  # as before the audit log (which names the system user)
        kind = {"account": "backoffice", "api_key": "operator"}[self.type]
        return f"{kind}:{self.id} ({self.label})"[:100]


@dataclass(frozen=True)
class AuditContext:
    """The actor and where the request came from; built by the edge (a request, a command)."""

    actor: Actor
    request_id: str | None = None
    client_address: str | None = None


@dataclass(frozen=True)
class AuditEntry:
    id: str
    at: datetime
    actor_type: str
    actor_id: str
    actor_label: str
    action: str
    target_type: str | None
    target_id: str | None
    before: object
    after: object
    request_id: str | None
    client_address: str | None

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def jsonable(value: object) -> object:
    """A snapshot as JSON values: dates as RFC 3339 text, decimals as strings, enums by value."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return jsonable(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(item) for item in value]
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _bounded(value: object) -> object:
    if value is None:
        return None
    shaped = jsonable(value)
    text = json.dumps(shaped, sort_keys=True)
    if len(text.encode("utf-8")) <= limits.AUDIT_JSON_BYTES_MAX:
        return shaped
    return {"truncated": True, "text": text[: limits.AUDIT_JSON_BYTES_MAX // 4]}


def record(connection: Connection, context: AuditContext, *, action: str, now: datetime,
           target_type: str | None = None, target_id: str | None = None, before: object = None,
           after: object = None) -> str:
    """Writes one audit row in the caller's transaction; its id."""
    entry_id = new_id("aud")
    connection.execute(operator_audit_log.insert().values(
        id=entry_id, at=now, actor_type=context.actor.type, actor_id=context.actor.id[:64],
        actor_label=context.actor.label[: limits.AUDIT_LABEL_LENGTH_MAX], action=action[:64],
        target_type=target_type and target_type[:32], target_id=target_id and str(target_id)[:64],
        before=_bounded(before), after=_bounded(after),
        request_id=context.request_id and context.request_id[:64],
        client_address=context.client_address and context.client_address[:64]))
    return entry_id


def _entry(row) -> AuditEntry:
    return AuditEntry(row.id, row.at, row.actor_type, row.actor_id, row.actor_label, row.action, row.target_type,
                      row.target_id, row.before, row.after, row.request_id, row.client_address)


def entries(connection: Connection, *, operator: str | None = None, action: str | None = None,
            target_id: str | None = None, limit: int = limits.PAGE_LIMIT_DEFAULT,
            starting_after: str | None = None) -> tuple[list[AuditEntry], bool]:
    """Newest first, keyset-paginated; ``operator`` matches the actor's id or label exactly."""
    assert 1 <= limit <= max(limits.PAGE_LIMIT_MAX, limits.BACKOFFICE_PAGE_ROWS)
    table = operator_audit_log
    query = sa.select(table)
    if operator:
        query = query.where(sa.or_(table.c.actor_id == operator, table.c.actor_label == operator))
    if action:
        query = query.where(table.c.action == action)
    if target_id:
        query = query.where(table.c.target_id == target_id)
    if starting_after:
        seq = connection.execute(sa.select(table.c.seq).where(table.c.id == starting_after)).scalar()
        if seq is None:
            raise InvalidRequest("starting_after must be the id of an audit log entry.", param="starting_after",
                                 code="invalid_cursor")
        query = query.where(table.c.seq < seq)
    rows = connection.execute(query.order_by(table.c.seq.desc()).limit(limit + 1)).all()
    return [_entry(row) for row in rows[:limit]], len(rows) > limit


def actions_recorded(connection: Connection) -> list[str]:
    """Every action name that appears in the log (for a filter's choices)."""
    return list(connection.execute(sa.select(operator_audit_log.c.action).distinct()
                                   .order_by(operator_audit_log.c.action)).scalars())
