"""The password policy and Argon2id hashing."""

from __future__ import annotations

import pytest
from argon2 import extract_parameters

from amanah.core import limits
from amanah.core.config import Settings
from amanah.users.errors import WeakPassword
from amanah.users.service import passwords


@pytest.fixture(scope="module")
def owasp() -> Settings:
    return Settings(env="test")


@pytest.fixture(scope="module")
def cheap() -> Settings:
    return Settings(env="test", password_hashing="test")


class TestThePasswordPolicy:
    def test_a_long_uncommon_password_is_accepted(self):
        passwords.check_policy("correct horse battery staple", email="a@example.com")

    @pytest.mark.parametrize("password", ["short", "1234567"])
    def test_fewer_than_eight_characters_are_refused(self, password):
        with pytest.raises(WeakPassword, match="at least 8"):
            passwords.check_policy(password)

    def test_sixty_four_characters_are_accepted_and_more_than_the_maximum_refused(self):
        passwords.check_policy("x7Q!" * 16)
        with pytest.raises(WeakPassword, match="at most"):
            passwords.check_policy("x" * (limits.PASSWORD_LENGTH_MAX + 1))

    @pytest.mark.parametrize("password", ["password", "PASSWORD", "12345678", "baseball", "qwertyuiop", "iloveyou"])
    def test_common_passwords_are_refused_whatever_their_case(self, password):
        with pytest.raises(WeakPassword, match="most common"):
            passwords.check_policy(password)

    def test_the_list_holds_the_three_thousand_most_common_passwords(self):
        assert len(passwords.common_passwords()) >= 2900  # a few differ only in case

    def test_the_users_own_e_mail_or_name_is_refused(self):
        with pytest.raises(WeakPassword, match="e-mail address or your name"):
            passwords.check_policy("margaretha.v@example.com", email="margaretha.v@example.com")
        with pytest.raises(WeakPassword):
            passwords.check_policy("Margaretha Vance", name="margaretha vance")

    def test_the_refusal_names_the_password_field(self):
        with pytest.raises(WeakPassword) as refused:
            passwords.check_policy("short")
        assert refused.value.param == "password" and refused.value.http_status == 400


class TestHashingPasswords:
    def test_hashes_are_argon2id_at_owasp_parameters(self, owasp):
        stored = passwords.hash_password(owasp, "correct horse battery staple")
        parameters = extract_parameters(stored)
        assert stored.startswith("$argon2id$")
        assert (parameters.memory_cost, parameters.time_cost, parameters.parallelism) == (19456, 2, 1)

    def test_the_right_password_verifies_and_a_wrong_one_does_not(self, cheap):
        stored = passwords.hash_password(cheap, "correct horse battery staple")
        assert passwords.verify_password(cheap, stored, "correct horse battery staple")
        assert not passwords.verify_password(cheap, stored, "correct horse battery stapler")

    def test_no_stored_hash_never_verifies(self, cheap):
        assert not passwords.verify_password(cheap, None, "no account has this password")

    def test_the_same_password_typed_in_another_unicode_form_verifies(self, cheap):
        stored = passwords.hash_password(cheap, "ｃａｆé-password")  # full-width letters, composed é
        assert passwords.verify_password(cheap, stored, "cafe\u0301-password")

    def test_a_hash_made_with_other_parameters_needs_rehashing(self, owasp, cheap):
        assert passwords.needs_rehash(owasp, passwords.hash_password(cheap, "correct horse battery staple"))
        assert not passwords.needs_rehash(owasp, passwords.hash_password(owasp, "correct horse battery staple"))

    def test_the_cheap_test_cost_is_refused_outside_test_mode(self):
        with pytest.raises(ValueError, match="only allowed with AMANAH_ENV=test"):
            Settings(env="production", password_hashing="test")
