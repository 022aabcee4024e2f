"""My account → edit cards: bind, list and unbind the caller's cards."""

from __future__ import annotations

from datetime import datetime

from fastapi import Depends
from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine

from amanah.api.deps import get_engine, get_now, get_settings
from amanah.api.links import links
from amanah.api.routing import Router
from amanah.api.user_auth import STEP_UP, current_full_user, current_user
from amanah.cards import service as cards
from amanah.core import service_mode
from amanah.core.config import Settings
from amanah.core.db import run_in_transaction

router = Router(prefix="/v1/me/cards", tags=["cards"])


class CardBind(BaseModel):
    number: str = Field(max_length=30, description="The card number; spaces are allowed.")
    exp_month: int = Field(description="1–12.")
    exp_year: int = Field(description="Four digits (two are read as 20YY).")
    cvc: str = Field(max_length=4, description="Sent to the bank once to verify the card; never stored.")
    holder_name: str = Field(max_length=200)


class CardOut(BaseModel):
    id: str
    brand: str = Field(description="visa, mastercard, mir or unionpay.")
    last4: str
    exp_month: int
    exp_year: int
    holder_name: str
    created_at: datetime


class CardList(BaseModel):
    data: list[CardOut]
    has_more: bool


class CardDeleted(BaseModel):
    id: str
    deleted: bool


@router.post("", status_code=201, response_model=CardOut, summary="Bind a card to my account",
             responses={**links("card_id", {"GetCard": ("GET", "/v1/me/cards/{card_id}"),
                                            "DeleteCard": ("DELETE", "/v1/me/cards/{card_id}")}), **STEP_UP})
def bind_card(body: CardBind, user=Depends(current_full_user), engine: Engine = Depends(get_engine),
              settings: Settings = Depends(get_settings), now: datetime = Depends(get_now)) -> dict:
    refuse = lambda connection: service_mode.refuse_new_business(connection, "Binding new cards")  # noqa: E731
    # Asked before the bank is called (no verification charge for nothing) and again in the
    # storing transaction (the operator may switch in between).
    with engine.connect() as connection:
        refuse(connection)
    card = cards.bind_card(engine, settings, user_id=user.id, number=body.number, exp_month=body.exp_month,
                           exp_year=body.exp_year, cvc=body.cvc, holder_name=body.holder_name, now=now,
                           before_insert=refuse)
    return card.to_dict()


@router.get("", response_model=CardList, summary="My cards")
def list_cards(user=Depends(current_user), engine: Engine = Depends(get_engine)) -> dict:
    with engine.connect() as connection:
        found = cards.list_cards(connection, user.id)
    return {"data": [card.to_dict() for card in found], "has_more": False}


@router.get("/{card_id}", response_model=CardOut, summary="One of my cards")
def get_card(card_id: str, user=Depends(current_user), engine: Engine = Depends(get_engine)) -> dict:
    with engine.connect() as connection:
        return cards.get_card(connection, user.id, card_id).to_dict()


@router.delete("/{card_id}", response_model=CardDeleted, summary="Unbind a card (allowed in every service mode)",
               responses=STEP_UP)
def delete_card(card_id: str, user=Depends(current_full_user), engine: Engine = Depends(get_engine),
                now: datetime = Depends(get_now)) -> dict:
    run_in_transaction(engine, lambda c: cards.delete_card(c, user.id, card_id, now=now))
    return {"id": card_id, "deleted": True}
