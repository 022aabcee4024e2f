"""The retry schedule: exponential, jittered, about three days in all."""

from __future__ import annotations

import pytest

from amanah.core import limits
from amanah.platforms.webhooks.outbox import retry_delay_s

DAY_S = 24 * 3600


def total_wait_s(jitter_unit: float) -> float:
    return sum(retry_delay_s(attempt, jitter_unit) for attempt in range(1, limits.WEBHOOK_ATTEMPTS_MAX))


class TestRetrySchedule:
    @pytest.mark.parametrize("jitter_unit", [0.0, 0.5, 0.999999])
    def test_deliveries_are_tried_for_about_three_days(self, jitter_unit):
        assert 2.25 * DAY_S <= total_wait_s(jitter_unit) <= 3.8 * DAY_S

    def test_the_middle_of_the_jitter_gives_three_days(self):
        assert abs(total_wait_s(0.5) - 3 * DAY_S) < 0.1 * DAY_S

    def test_delays_double_until_the_cap(self):
        delays = [retry_delay_s(attempt, 0.5) for attempt in range(1, 14)]
        assert delays[:3] == [30, 60, 120]
        assert max(delays) == limits.WEBHOOK_RETRY_BACKOFF_MAX_S == delays[-1]
        assert delays == sorted(delays)

    def test_jitter_stays_within_a_quarter_either_way(self):
        samples = [retry_delay_s(3) for _ in range(500)]
        assert all(0.75 * 120 <= delay < 1.25 * 120 for delay in samples)
        assert len(set(samples)) > 1
