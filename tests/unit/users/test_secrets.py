"""Tokens and CSRF tokens."""

from __future__ import annotations

import base64

from amanah.users.service import tokens


class TestCsrfTokens:
    def test_each_session_has_its_own(self):
        assert tokens.csrf_token_for("uss_one") != tokens.csrf_token_for("uss_two")

    def test_the_right_one_matches_and_others_do_not(self):
        token = tokens.csrf_token_for("uss_one")
        assert tokens.csrf_matches("uss_one", token)
        assert not tokens.csrf_matches("uss_one", tokens.csrf_token_for("uss_two"))
        assert not tokens.csrf_matches("uss_one", None)
        assert not tokens.csrf_matches("uss_one", "x" * 10_000)


class TestSecretFormat:
    def test_a_secret_has_a_purpose_prefix_and_more_than_128_random_bits(self):
        for purpose, prefix in tokens.PREFIXES.items():
            assert tokens.well_formed(prefix + "A" * 43, purpose)
        random_part = "A" * 43  # token_urlsafe(32): 43 characters of base64url = 256 bits
        assert len(base64.urlsafe_b64decode(random_part + "=")) * 8 == 256

    def test_a_secret_of_another_purpose_is_not_well_formed(self):
        assert not tokens.well_formed("uss_abc", tokens.Purpose.ACCESS)
        assert not tokens.well_formed(None, tokens.Purpose.ACCESS)
