"""The vault: encryption round trip, fingerprints, key rotation (also interrupted)."""

from __future__ import annotations

import stat

import pytest
import sqlalchemy as sa
from cryptography.exceptions import InvalidTag

from amanah.cards import service as cards
from amanah.cards import vault
from amanah.cards.errors import VaultKeyMissing
from amanah.cards.models import cards as cards_table
from amanah.core.config import Environment
from amanah.core.db import run_in_transaction

from .conftest import card_body

NUMBERS = ["4242424242424242", "5555555555554444", "2200000000000004", "6200000000000005"]


def bind_all(client, make_holder) -> list[tuple[str, str, str]]:
    """(user id, card id, number) for a few cards of different users."""
    bound = []
    for number in NUMBERS:
        person = make_holder()
        card = client.post("/v1/me/cards", json=card_body(number), headers=person.headers).json()
        bound.append((person.id, card["id"], number))
    return bound


def read_number(engine, settings, user_id: str, card_id: str) -> str:
    return run_in_transaction(engine, lambda c: cards.card_details(c, settings, user_id, card_id)).number.reveal()


class TestSealingACardNumber:
    def test_a_sealed_number_opens_only_under_its_own_card_id(self, settings):
        ring = vault.keyring(settings)
        sealed = vault.seal(ring, "card_A", vault.CardNumber("4242424242424242"))
        assert b"4242" not in sealed.ciphertext
        assert vault.open_number(ring, "card_A", sealed).reveal() == "4242424242424242"
        with pytest.raises(InvalidTag):
            vault.open_number(ring, "card_B", sealed)

    def test_a_card_number_never_shows_itself(self):
        number = vault.CardNumber("4242424242424242")
        assert "4242424242424242" not in repr(number) + str(number) + f"{number}"
        assert repr(number) == "CardNumber(•••• 4242)"

    def test_the_fingerprint_is_keyed_and_stable(self, settings):
        ring = vault.keyring(settings)
        one = vault.fingerprint(ring, vault.CardNumber("4242424242424242"))
        assert one == vault.fingerprint(ring, vault.CardNumber("4242424242424242"))
        assert one != vault.fingerprint(ring, vault.CardNumber("5555555555554444"))
        assert "4242" not in one

    def test_key_files_are_created_private(self, settings):
        vault.keyring(settings)
        for path in vault.key_paths(settings)[::2]:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600

    def test_production_refuses_to_invent_a_missing_key(self, settings, tmp_path):
        production = settings.model_copy(update={"env": Environment.PRODUCTION, "captcha": "image",
                                                 "vault_key_file": tmp_path / "missing.key"})
        with pytest.raises(VaultKeyMissing):
            vault.keyring(production)


class TestRotatingTheKey:
    def test_every_card_is_rewrapped_and_still_readable(self, client, make_holder, engine, settings):
        bound = bind_all(client, make_holder)
        old_id = vault.keyring(settings).active_id
        cards.rotate_key(engine, settings)
        ring = vault.keyring(settings)
        assert ring.active_id != old_id and ring.previous == ()
        assert not vault.rotation_in_progress(settings)
        with engine.connect() as connection:
            kek_ids = {row.kek_id for row in connection.execute(
                sa.select(cards_table.c.kek_id).where(cards_table.c.id.in_([card for _, card, _ in bound])))}
        assert kek_ids == {ring.active_id}
        for user_id, card_id, number in bound:
            assert read_number(engine, settings, user_id, card_id) == number

    def test_an_interrupted_rotation_loses_nothing_and_finishes_when_run_again(
            self, client, make_holder, engine, settings):
        bound = bind_all(client, make_holder)
        vault.start_rotation(settings)
        # The process dies after the new key is active but before any card was re-wrapped:
        # every card still opens (the old key is on disk beside the new one) ...
        assert vault.rotation_in_progress(settings)
        for user_id, card_id, number in bound:
            assert read_number(engine, settings, user_id, card_id) == number
        # ... and a card bound meanwhile is sealed under the new key.
        late = make_holder()
        late_card = client.post("/v1/me/cards", json=card_body(NUMBERS[0]), headers=late.headers).json()
        # Running the command again finishes that rotation instead of starting another.
        active = vault.keyring(settings).active_id
        cards.rotate_key(engine, settings)
        assert vault.keyring(settings).active_id == active
        assert not vault.rotation_in_progress(settings)
        for user_id, card_id, number in [*bound, (late.id, late_card["id"], NUMBERS[0])]:
            assert read_number(engine, settings, user_id, card_id) == number
