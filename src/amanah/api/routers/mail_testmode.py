"""Test mode's view of sent mail: ``GET /v1/test/outbox/mail`` (operator key; 404 outside test mode)."""

from __future__ import annotations

from datetime import datetime

from fastapi import Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine

from amanah import mail
from amanah.api.auth import require_operator
from amanah.api.deps import get_engine, get_settings
from amanah.api.routing import Router
from amanah.core import limits
from amanah.core.config import Settings
from amanah.core.errors import NotFound


def _require_test_mode(settings: Settings = Depends(get_settings)) -> None:
    if not settings.is_test:
        raise NotFound("Not Found")


router = Router(prefix="/v1/test", tags=["test mode"],
                   dependencies=[Depends(_require_test_mode), Depends(require_operator)])


class SentMailOut(BaseModel):
    to: str
    subject: str
    text: str | None = Field(description="null for a mail sent outside test mode: its bodies are not kept")
    html: str | None = Field(description="null for a mail sent outside test mode: its bodies are not kept")
    sent_at: datetime


class SentMailList(BaseModel):
    data: list[SentMailOut]
    has_more: bool


@router.get("/outbox/mail", response_model=SentMailList, summary="The e-mails the server has sent, newest first")
def sent_mail(limit: int = Query(limits.PAGE_LIMIT_DEFAULT, ge=1, le=limits.MAIL_OUTBOX_LIST_MAX),
              engine: Engine = Depends(get_engine)) -> SentMailList:
    with engine.connect() as conn:
        sent = mail.list_sent(conn, limit + 1)
    data = [SentMailOut(**item.__dict__) for item in sent[:limit]]
    return SentMailList(data=data, has_more=len(sent) > limit)
