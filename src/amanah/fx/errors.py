"""Errors raised by ``amanah.fx``; each carries a stable code and a message a person understands."""

from __future__ import annotations

from amanah.core.errors import Conflict, InvalidRequest, NotFound


class InvalidRate(InvalidRequest):
    """A rate that is not a positive decimal number in range, or a pair that makes no sense."""

    code = "invalid_rate"


class InvalidRatesFile(InvalidRequest):
    """A rates file that is neither an ECB ``eurofxref`` XML file nor our CSV, or has bad lines."""

    code = "invalid_rates_file"


class SameCurrency(InvalidRequest):
    """A quote to buy a currency with itself: no conversion is needed."""

    code = "same_currency"


class RateUnavailable(Conflict):
    """No rate connects the two currencies: the operator has not loaded or set one yet. The
    system's state, not a fault: a 409 ``conflict``, which clears once a rate is loaded."""

    code = "fx_rate_unavailable"


class RateStale(Conflict):
    """The only rates connecting the two currencies are older than the configured age."""

    code = "fx_rate_stale"


class QuoteNotFound(NotFound):
    code = "quote_not_found"


class QuoteExpired(Conflict):
    """The quote's validity ended before a payment locked it; ask for a new one."""

    code = "quote_expired"


class QuoteUsed(Conflict):
    """A quote is single use and a payment has already locked this one."""

    code = "quote_used"
