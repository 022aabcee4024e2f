"""The throttle's arithmetic: doubling delays, capped; addresses grouped."""

from __future__ import annotations

from amanah.core import limits
from amanah.users.service import throttle


class TestTheDelayAfterFailures:
    def test_the_first_failures_cost_nothing(self):
        assert [throttle.delay_s(n) for n in range(limits.LOGIN_FAILURES_BEFORE_DELAY)] == [0] * 3

    def test_then_the_delay_doubles(self):
        first = limits.LOGIN_FAILURES_BEFORE_DELAY
        assert [throttle.delay_s(first + n) for n in range(5)] == [1, 2, 4, 8, 16]

    def test_it_never_exceeds_fifteen_minutes(self):
        assert throttle.delay_s(40) == throttle.delay_s(10_000) == 15 * 60


class TestGroupingClientAddresses:
    def test_an_ipv4_address_is_its_own_group(self):
        assert throttle.address_group("203.0.113.7") == "203.0.113.7"

    def test_an_ipv6_address_counts_with_its_whole_slash_64(self):
        assert throttle.address_group("2001:db8:1:2::5") == throttle.address_group("2001:db8:1:2:ffff::1")
        assert throttle.address_group("2001:db8:1:2::5") != throttle.address_group("2001:db8:1:3::5")

    def test_an_ipv4_mapped_ipv6_address_is_the_ipv4_address(self):
        assert throttle.address_group("::ffff:203.0.113.7") == "203.0.113.7"

    def test_the_account_key_does_not_contain_the_e_mail(self):
        keys = throttle.keys_for("someone@example.com", "203.0.113.7")
        assert "someone" not in keys.account and keys.account.startswith("account:")
