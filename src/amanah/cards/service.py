"""Cards: bind, list, delete (the vault keeps the numbers), and key rotation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from amanah.cards import brands, vault
from amanah.cards.connectors import CardDetails, OperationStatus
from amanah.cards.connectors.registry import card_acquirer
from amanah.cards.errors import CardAlreadyBound, CardDeclined, InvalidCard
from amanah.cards.models import cards
from amanah.core import limits
from amanah.core.config import Settings
from amanah.core.db import run_in_transaction
from amanah.core.errors import NotFound
from amanah.core.ids import new_id


@dataclass(frozen=True)
class Card:
    id: str
    user_id: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    holder_name: str
    created_at: datetime

    def to_dict(self) -> dict:
        return {"id": self.id, "brand": self.brand, "last4": self.last4, "exp_month": self.exp_month,
                "exp_year": self.exp_year, "holder_name": self.holder_name, "created_at": self.created_at}


_PUBLIC = [cards.c.id, cards.c.user_id, cards.c.brand, cards.c.last4, cards.c.exp_month, cards.c.exp_year,
           cards.c.holder_name, cards.c.created_at]


def _card(row) -> Card:
    return Card(row.id, row.user_id, row.brand, row.last4, row.exp_month, row.exp_year, row.holder_name,
                row.created_at)


def bind_card(engine: Engine, settings: Settings, *, user_id: str, number: str, exp_month: int,
              exp_year: int, cvc: str, holder_name: str, now: datetime,
              before_insert=None) -> Card:
    """Checks the card, verifies it with the acquirer (CVC included, then forgotten), and keeps
    it in the vault. The acquirer is called outside any transaction.

    ``before_insert(connection)`` runs in the storing transaction (the service-mode check)."""
    digits, rule = brands.check_number(number)
    exp_month, exp_year = brands.check_expiry(exp_month, exp_year, now)
    brands.check_cvc(cvc, rule)
    holder_name = brands.check_holder_name(holder_name)
    card_number = vault.CardNumber(digits)
    ring = vault.keyring(settings)
    fingerprint = vault.fingerprint(ring, card_number)
    run_in_transaction(engine, lambda c: _check_can_bind(c, user_id, fingerprint))
    verified = card_acquirer(engine, settings).verify(CardDetails(card_number, exp_month, exp_year, cvc))
    if verified.status is not OperationStatus.SUCCEEDED:
        raise CardDeclined(_DECLINE_MESSAGES.get(verified.failure_code, "The card was declined."),
                           code=verified.failure_code or "card_declined")
    card_id = new_id("card")
    sealed = vault.seal(ring, card_id, card_number)

    def store(connection: Connection) -> Card:
        if before_insert is not None:
            before_insert(connection)
        _check_can_bind(connection, user_id, fingerprint)
        connection.execute(cards.insert().values(
            id=card_id, user_id=user_id, brand=rule.brand.value, last4=card_number.last4,
            exp_month=exp_month, exp_year=exp_year, holder_name=holder_name, fingerprint=fingerprint,
            number_ciphertext=sealed.ciphertext, wrapped_key=sealed.wrapped_key, kek_id=sealed.kek_id,
            created_at=now))
        return get_card(connection, user_id, card_id)

    return run_in_transaction(engine, store)


_DECLINE_MESSAGES = {
    "incorrect_cvc": "The security code (CVC) is not right for this card.",
    "expired_card": "The bank says this card has expired.",
}


def _check_can_bind(connection: Connection, user_id: str, fingerprint: str) -> None:
    live = sa.and_(cards.c.user_id == user_id, cards.c.deleted_at.is_(None))
    same = connection.execute(sa.select(cards.c.id).where(live, cards.c.fingerprint == fingerprint)).first()
    if same is not None:
        raise CardAlreadyBound(f"This card is already bound to your account as {same.id}.", param="number")
    count = connection.execute(sa.select(sa.func.count()).select_from(cards).where(live)).scalar_one()
    if count >= limits.CARDS_PER_USER_MAX:
        raise InvalidCard(f"An account can hold at most {limits.CARDS_PER_USER_MAX} cards; delete one first.",
                          code="too_many_cards")


def get_card(connection: Connection, user_id: str, card_id: str) -> Card:
    """The user's live card; another user's card, or a deleted one, is not found."""
    row = connection.execute(sa.select(*_PUBLIC).where(
        cards.c.id == card_id, cards.c.user_id == user_id, cards.c.deleted_at.is_(None))).first()
    if row is None:
        raise NotFound(f"No card {card_id}.", param="card_id")
    return _card(row)


def list_cards(connection: Connection, user_id: str) -> list[Card]:
    rows = connection.execute(sa.select(*_PUBLIC).where(cards.c.user_id == user_id, cards.c.deleted_at.is_(None))
                              .order_by(cards.c.created_at.desc(), cards.c.id.desc()))
    return [_card(row) for row in rows]


def delete_card(connection: Connection, user_id: str, card_id: str, *, now: datetime) -> None:
    """Unbinds the card: the encrypted number and its key are erased (allowed in every service
    mode); brand and last four digits stay for the payment history."""
    get_card(connection, user_id, card_id)
    connection.execute(cards.update().where(cards.c.id == card_id).values(
        deleted_at=now, number_ciphertext=None, wrapped_key=None, kek_id=None))


def forget_cards(connection: Connection, user_id: str, *, now: datetime) -> int:
    """Account closure: every live card deleted as above, and the holder's name blanked on all
    of them (it names the person); how many were live."""
    live = list_cards(connection, user_id)
    for card in live:
        delete_card(connection, user_id, card.id, now=now)
    connection.execute(cards.update().where(cards.c.user_id == user_id).values(holder_name=""))
    return len(live)


def card_details(connection: Connection, settings: Settings, user_id: str, card_id: str) -> CardDetails:
    """The card's number, out of the vault, for a connector call (never stored or logged)."""
    get_card(connection, user_id, card_id)
    row = connection.execute(sa.select(cards).where(cards.c.id == card_id)).one()
    sealed = vault.SealedNumber(row.number_ciphertext, row.wrapped_key, row.kek_id)
    return CardDetails(vault.open_number(vault.keyring(settings), card_id, sealed), row.exp_month, row.exp_year)


def rewrap_batch(engine: Engine, settings: Settings) -> int:
    """Re-wraps up to one batch of data keys still under an old KEK; how many it did."""
    ring = vault.keyring(settings)

    def work(connection: Connection) -> int:
        rows = connection.execute(
            sa.select(cards.c.id, cards.c.number_ciphertext, cards.c.wrapped_key, cards.c.kek_id)
            .where(cards.c.kek_id.is_not(None), cards.c.kek_id != ring.active_id)
            .limit(limits.VAULT_REWRAP_BATCH_MAX)
            .with_for_update(skip_locked=True)
        ).all()
        for row in rows:
            sealed = vault.rewrap(ring, row.id, vault.SealedNumber(row.number_ciphertext, row.wrapped_key, row.kek_id))
            connection.execute(cards.update().where(cards.c.id == row.id, cards.c.kek_id == row.kek_id)
                               .values(wrapped_key=sealed.wrapped_key, kek_id=sealed.kek_id))
        return len(rows)

    return run_in_transaction(engine, work)


def rotate_key(engine: Engine, settings: Settings, *, progress=None) -> int:
    """``amanah vault rotate-key``: a new KEK, every data key re-wrapped, the old KEK forgotten.

    Interrupted, it is simply run again: it first finishes the rotation under way (both keys
    are still on disk) instead of starting another."""
    if not vault.rotation_in_progress(settings):
        vault.start_rotation(settings)
    total = 0
    while (count := rewrap_batch(engine, settings)) > 0:
        total += count
        if progress:
            progress(total)
    vault.finish_rotation(settings)
    return total
