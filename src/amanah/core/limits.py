"""Every limit in one place. A number that bounds work, input or time lives here."""

# Money
AMOUNT_MAX_MINOR = 10**15
"""Largest amount one transfer may move, in minor units of any currency.

Big enough for any real payment (10^13 IDR ≈ 600 million USD), small enough that a balance
summing a few million of them still fits a signed 64-bit column."""

AMOUNT_TEXT_LENGTH_MAX = 64
"""Characters of a typed amount ("1 234,56 ₽") read before parsing: a number with thousands of
exponent digits would keep Decimal busy for minutes."""
LOCALE_PATTERNS_CACHED_MAX = 256
"""Locales whose number patterns are kept parsed in memory."""

# Ledger
TRANSFER_ID_LENGTH_MAX = 64
"""Client-supplied transfer ids (for example ``trd_…:hold``) are at most this long."""
TRANSFER_CODE_LENGTH_MAX = 32
TRANSFER_REFERENCE_LENGTH_MAX = 64
BATCH_TRANSFERS_MAX = 8190
"""Transfers in one batch (one database transaction); TigerBeetle's batch size."""
PENDING_TIMEOUT_MAX_S = 366 * 24 * 3600
"""A hold may last at most a year and a day before it must be posted, voided or expire."""
EXPIRE_BATCH_MAX = 1000
"""Pending transfers expired by one run of the expiry job."""

# Transactions
TRANSACTION_RETRIES_MAX = 8
"""How often a transaction is retried after a serialisation failure, deadlock or a
concurrent insert of the same unique id, before the error is raised."""
TRANSACTION_RETRY_BACKOFF_S = 0.005
"""First back-off between retries; doubles each time, with jitter."""

# Database connections
DB_POOL_SIZE = 10
DB_POOL_OVERFLOW_MAX = 20
DB_CONNECT_TIMEOUT_S = 10
SQLITE_BUSY_TIMEOUT_MS = 30_000

# API
PAGE_LIMIT_DEFAULT = 20
PAGE_LIMIT_MAX = 100

# Test mode
TEST_CLOCK_ADVANCE_MAX_S = 400 * 24 * 3600
"""The test clock moves at most this far in one call."""
