"""FX use cases (rates, quotes, conversion in the ledger); every function takes the edge's
connection and never commits."""

from amanah.fx.service.conversion import (
    FX_OWNER,
    conversion_transfers,
    convert_in_ledger,
    liquidity_account,
    revenue_account,
)
from amanah.fx.service.quotes import (
    create_quote,
    get_quote,
    lock_quote,
    purge_expired_quotes,
    supported_currency,
)
from amanah.fx.service.rates import (
    ImportReport,
    RatesView,
    import_rates_file,
    load_sample_rates,
    rate_table,
    rates_for,
    set_rate,
    store_rates,
)

__all__ = [
    "FX_OWNER", "ImportReport", "RatesView", "conversion_transfers", "convert_in_ledger",
    "create_quote", "get_quote", "import_rates_file", "liquidity_account", "load_sample_rates",
    "lock_quote", "purge_expired_quotes", "rate_table", "rates_for", "revenue_account",
    "set_rate", "store_rates", "supported_currency",
]
