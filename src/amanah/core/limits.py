"""Every limit in one place. A number that bounds work, input or time lives here."""

# Money
AMOUNT_MAX_MINOR = 10**15
"""Largest amount one transfer may move, in minor units of any currency.

Big enough for any real payment (10^13 IDR ≈ 600 million USD), small enough that a balance
summing a few million of them still fits a signed 64-bit column."""
REFERENCE_PATTERN = r"^[!-~]+$"
"""A client's reference (a trade's ``out_trade_no``): visible ASCII only, so that no look-alike,
invisible or right-to-left character can make two references read alike."""
FREE_TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]*$"
"""Free text (a refund's reason): any character but controls (tab and new lines are fine) and
the bidirectional overrides and isolates that make text display other than it reads."""

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

# Background jobs
JOB_BURST_S = 2.0
"""A job that found work runs again at once (a backlog drains at the speed of the work, not one
batch a tick) for at most this long before the other jobs get their turn."""

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
"""Per host tried; ``connect_timeout`` in the database URL overrides it (use 2-3 s with a
standby: a dead primary then costs that long before the next host is tried)."""
DB_KEEPALIVE_IDLE_S = 10
DB_KEEPALIVE_INTERVAL_S = 3
DB_KEEPALIVE_COUNT = 3
"""TCP keepalives: a database host that vanished without a word (power, network) is noticed
after about 10 + 3 * 3 s instead of the kernel's two hours; the URL may override each."""
DB_RECONNECT_WAIT_S = 10.0
"""How long a unit of work keeps trying to reach a writable database (a failover to the
standby, a restart) before it answers 503. Only while nothing can have been committed: a
connection lost during COMMIT is never retried (``CommitOutcomeUnknown``)."""
DB_RECONNECT_PAUSE_S = 0.25
"""Pause between two attempts to reach the database while it is away."""
DB_RETRY_AFTER_S = 2
"""``Retry-After`` of a 503 answered because the database was away."""
SQLITE_BUSY_TIMEOUT_MS = 30_000

# API
PAGE_LIMIT_DEFAULT = 20
PAGE_LIMIT_MAX = 100

# Test mode
TEST_CLOCK_ADVANCE_MAX_S = 400 * 24 * 3600
"""The test clock moves at most this far in one call."""

# Exchange (fx)
FX_SPREAD_BPS_MAX = 1000
"""The spread on a conversion is at most 10% (``AMANAH_FX_SPREAD_BPS``)."""
FX_QUOTE_VALIDITY_MIN_S = 5
FX_QUOTE_VALIDITY_MAX_S = 3600
"""A quote is valid for 5 s to an hour (``AMANAH_FX_QUOTE_VALIDITY_S``)."""
FX_RATE_AGE_DAYS_LIMIT = 31
"""``AMANAH_FX_RATE_AGE_MAX_DAYS`` may accept rates at most a month old."""
FX_RATE_DATE_AHEAD_MAX_DAYS = 1
"""A rate may be dated one day ahead of the server's UTC date (time zones), no more."""
FX_RATE_EXPONENT_MAX = 9
"""A stored rate lies between 10^-9 and 10^9 units of the quote currency per base unit."""
FX_RATE_DIGITS_MAX = 20
"""Significant digits accepted in an imported or typed rate."""
FX_RATE_TEXT_LENGTH_MAX = 40
"""Characters of a rate read before parsing (a huge exponent would keep Decimal busy)."""
FX_RATE_SHOWN_DIGITS = 10
"""Significant digits of the mid-market rates shown by ``GET /v1/fx/rates``."""
FX_QUOTE_RATE_DIGITS = 12
"""Significant digits of a quote's rate (rounded so that the buyer is charged enough)."""
FX_CROSS_RATE_HOPS_MAX = 3
"""A cross rate goes through at most two intermediate currencies."""
FX_IMPORT_FILE_BYTES_MAX = 32 * 1024 * 1024
"""A rates file is at most 32 MiB (the ECB's full history since 1999 is about 7 MiB)."""
FX_IMPORT_ROWS_MAX = 1_000_000
"""Rates read from one file, before the ones for currencies we do not hold are dropped."""
FX_QUOTE_PURGE_AFTER_S = 24 * 3600
"""Unused quotes are deleted a day after they expired; used ones stay with their payment."""
FX_QUOTE_PURGE_BATCH_MAX = 1000
ACCEPT_LANGUAGE_LENGTH_MAX = 512
"""Characters of an ``Accept-Language`` header read; the rest is ignored."""
ACCEPT_LANGUAGE_TAGS_MAX = 12

# Users and sign-in
PASSWORD_LENGTH_MIN = 8
PASSWORD_LENGTH_MAX = 128
"""Passwords are 8 to 128 characters (long passphrases welcome; Argon2 hashes any length, but
a megabyte "password" would only cost us time)."""
COMMON_PASSWORDS_COUNT = 3000
"""Passwords among this many most common ones are refused."""
USER_NAME_LENGTH_MAX = 200
EMAIL_LENGTH_MAX = 254
"""RFC 5321's limit on a forward path."""
SECRET_BYTES = 32
"""Random bytes in every token, session id and link secret (256 bits; at least 128 required)."""
SECRET_TEXT_LENGTH_MAX = 128
"""Characters of a presented token read before it is refused as malformed."""
USER_AGENT_LENGTH_MAX = 200
"""A session's or token's User-Agent is kept cut to this length (shown under Security)."""
SESSIONS_LISTED_MAX = 100
"""Sessions and tokens listed under Security (newest first); "end all others" reaches the rest."""
ACCESS_TOKEN_TTL_S = 30 * 24 * 3600
SESSION_TTL_S = 7 * 24 * 3600
PASSWORD_RESET_TTL_S = 30 * 60
INVITATION_TTL_S = 7 * 24 * 3600
"""An automatically registered buyer's set-your-password link lasts a week."""
EMAIL_VERIFICATION_TTL_S = 3 * 24 * 3600
LOGIN_LINK_TTL_S = 120
"""A platform's single sign-on link ("My Alipay") works once, within two minutes."""
CAPTCHA_TTL_S = 10 * 60
CAPTCHA_LENGTH = 5
CAPTCHA_ANSWER_LENGTH_MAX = 32
LOGIN_FAILURES_BEFORE_DELAY = 3
"""Failed log-ins (per account, and per account from one address) before each further one waits."""
LOGIN_FAILURES_BEFORE_CAPTCHA = 3
"""Failed log-ins of an account after which its log-in needs a captcha."""
LOGIN_ACCOUNTS_BEFORE_ADDRESS_CAPTCHA = 10
"""Accounts with failed log-ins from one client address after which every log-in from there
needs a captcha (a spread attack; a few colleagues' typos behind one office router are not)."""
LOGIN_DELAY_FIRST_S = 1
LOGIN_DELAY_MAX_S = 15 * 60
"""The delay doubles after each failure, up to 15 minutes."""
LOGIN_FAILURES_FORGOTTEN_AFTER_S = 24 * 3600
"""A counter with no failure for a day starts again from zero."""
TOTP_CODE_LENGTH = 6
TOTP_VALID_WINDOW_STEPS = 1
"""A TOTP code from one 30-second step before or after now is accepted (clock drift)."""
RECOVERY_CODES_COUNT = 10
RECOVERY_CODE_LENGTH_MAX = 32
USERS_PURGE_BATCH_MAX = 1000
"""Expired captchas, tokens and throttle counters deleted by one run of the purge job."""
USERS_PURGE_AFTER_S = 7 * 24 * 3600
"""Expired or used tokens are kept a week (for support questions), then deleted."""

# Mail
MAIL_SEND_BATCH_MAX = 20
"""Messages one run of the sender claims."""
MAIL_ATTEMPTS_MAX = 12
"""Deliveries tried before a message is marked failed (about a day and a half of back-off)."""
MAIL_RETRY_BACKOFF_FIRST_S = 30
MAIL_RETRY_BACKOFF_MAX_S = 4 * 3600
MAIL_CLAIM_LEASE_S = 120
"""A claimed message not reported sent within this time is claimed again (its sender died)."""
SMTP_TIMEOUT_S = 20
MAIL_OUTBOX_LIST_MAX = 100
MAIL_PARAM_LENGTH_MAX = 2000

# Cards
CARD_EXPIRY_YEARS_MAX = 20
"""A card's expiry year may be at most this many years ahead."""
CARD_HOLDER_NAME_LENGTH_MAX = 100
CARDS_PER_USER_MAX = 20
VAULT_REWRAP_BATCH_MAX = 500
"""Cards re-wrapped per transaction by ``amanah vault rotate-key``."""
CONNECTOR_TIMEOUT_S = 10.0
"""How long a call to a card acquirer or e-wallet may take before it counts as failed."""
CHARGES_RECOVERED_PER_RUN_MAX = 100
"""Stuck charges settled by one run of the recovery job."""
TOPUP_UNSTARTED_FAIL_AFTER_S = 600
"""A top-up recorded but whose charge never started (the process died in between) is marked
failed (``not_started``: nothing was charged) after this long. Longer than the idempotency
lease, so a retry with the same key can still start the charge first."""
TRADE_PAYMENT_UNSTARTED_FAIL_AFTER_S = 600
"""The same for a trade marked as being paid by card or e-wallet whose charge never started:
its payment becomes ``failed`` (``not_started``) and the buyer can pay again."""
UNSTARTED_FAILED_PER_RUN_MAX = 200
"""Top-ups or trade payments marked ``not_started`` by one run of their job."""

# Trades
TRADE_PROTECTION_DAYS_DEFAULT = 15
"""Buyer protection after shipping, before the money is released to the seller by itself."""
TRADE_PROTECTION_DAYS_MAX = 180
TRADE_UNPAID_EXPIRY_S = 24 * 3600
"""An unpaid trade closes by itself after this long."""
TRADES_PER_JOB_RUN_MAX = 200
"""Trades released or expired by one run of a trade job."""
PLATFORM_FEE_BPS_MAX_DEFAULT = 3000
"""The most a platform may take of a trade (30%) until an operator sets its own limit
(``PUT /v1/admin/platforms/{id}/fee-limit``); a fixed fee counts as its share of the amount."""
PLATFORM_FEE_BPS_MAX_CEILING = 10_000
"""No limit may let a platform take more than the whole trade."""
PLATFORM_KEY_GRACE_S_DEFAULT = 24 * 3600
"""After a rotation, how long the platform's earlier keys keep working (time to deploy the new one)."""
PLATFORM_KEY_GRACE_S_MAX = 30 * 24 * 3600
"""No grace period longer than this: a rotation is meant to end the old key."""
PLATFORM_KEYS_WORKING_MAX = 10
"""Keys of one platform that may work at once (a rotation beyond it asks to revoke one first)."""
SELLER_LINKS_PER_USER_MAX = 100
"""Marketplaces' seller requests and links listed for one person (My account → Marketplaces)."""

# Webhooks
WEBHOOK_ENDPOINTS_PER_PLATFORM_MAX = 16
WEBHOOK_URL_LENGTH_MAX = 2048
WEBHOOK_SECRET_BYTES = 32
"""Random bytes of an endpoint's signing secret (Standard Webhooks asks for 24 to 64)."""
WEBHOOK_PAYLOAD_BYTES_MAX = 256 * 1024
"""An event's JSON body; trades send a few hundred bytes."""
WEBHOOK_TIMEOUT_S = 10.0
"""Connect, write and read each get this long before the attempt counts as failed."""
WEBHOOK_DELIVERY_BATCH_MAX = 10
"""Deliveries one run of the job claims; they are sent in parallel (one thread each)."""
WEBHOOK_CLAIM_LEASE_S = 120
"""A claimed delivery not reported within this time is claimed again (its worker died). Longer
than a whole batch can take: every request of a batch is bounded by the timeout above."""
WEBHOOK_RETRY_BACKOFF_FIRST_S = 30
WEBHOOK_RETRY_BACKOFF_MAX_S = 8 * 3600
WEBHOOK_RETRY_JITTER = 0.25
"""Each retry delay is multiplied by a random factor in [1 - 0.25, 1 + 0.25)."""
WEBHOOK_ATTEMPTS_MAX = 19
"""Attempts before a delivery is given up: with the back-off above, about 3 days."""
WEBHOOK_RESPONSE_BYTES_READ_MAX = 1024
WEBHOOK_ADDRESSES_TRIED_MAX = 3
"""A host with several addresses: the next is tried only when a connection is refused."""
"""Bytes of a failing endpoint's answer kept to show the platform why."""

# Idempotency keys
IDEMPOTENCY_KEY_LENGTH_MAX = 255
IDEMPOTENCY_KEY_TTL_S = 25 * 3600
"""Keys are kept at least 24 hours (API.md); the extra hour covers clients near the limit."""
IDEMPOTENCY_LEASE_S = 120
IDEMPOTENCY_IN_FLIGHT_RETRY_AFTER_S = 1
"""``Retry-After`` of the 409 for a key whose first request is still running: most requests
finish well within a second, and the answer is then replayed."""
"""A request still marked running after this long is taken to have crashed; a repeat may run."""
IDEMPOTENCY_REQUEST_BYTES_MAX = 1024 * 1024
IDEMPOTENCY_RESPONSE_BYTES_MAX = 1024 * 1024
"""A larger response is not stored: the key is released and a repeat runs again."""
IDEMPOTENCY_PURGE_BATCH_MAX = 1000

# Wind-down and account closure (issue 8)
WIND_DOWN_NOTICES_PER_RUN_MAX = 200
"""Users e-mailed the wind-down notice by one run of the notice job (one transaction)."""
EXPORT_TRADES_MAX = 10_000
"""Trades listed in one data export (a person's whole history; far above any real account)."""

# Wallet (issue 7)
WITHDRAWAL_PER_TRANSACTION_MAX_MAJOR = {
    "USD": 10_000, "EUR": 10_000, "GBP": 8_000, "AUD": 15_000, "CNY": 70_000, "JPY": 1_500_000,
    "KRW": 13_000_000, "RUB": 1_000_000, "UAH": 400_000, "KZT": 5_000_000, "INR": 800_000,
    "IDR": 150_000_000, "BRL": 50_000, "TRY": 300_000,
}
"""Default largest single withdrawal, in major units of each currency (about 10,000 USD);
``AMANAH_WITHDRAWAL_PER_TRANSACTION_MAX`` overrides it per currency, in minor units."""
WITHDRAWAL_DAILY_MAX_FACTOR = 2
"""By default a user may withdraw twice the per-transaction limit in any 24 hours
(``AMANAH_WITHDRAWAL_DAILY_MAX`` overrides it per currency, in minor units)."""
WITHDRAWAL_DAILY_WINDOW_S = 24 * 3600
"""The daily withdrawal limit counts what was withdrawn (or is under way) in the last 24 hours."""
HISTORY_CSV_ROWS_MAX = 100_000
"""Lines in one CSV export; narrow it with ``from``/``to`` for more (a spreadsheet's comfort)."""
HISTORY_CSV_PAGE_ROWS = 500
"""Lines read per query while a CSV export streams."""
HISTORY_FILTER_TYPES_MAX = 10
"""Types one ``type=`` filter may list (comma-separated)."""

# Group commit (issue 10)
GROUP_COMMIT_UNITS_MAX = 64
"""Units of work (requests) one group-committed transaction takes at most."""
GROUP_COMMIT_WAIT_S = 0.002
"""How long a batch's leader waits for more units before it runs what it has. It only waits
while requests are arriving concurrently (the previous batch held more than one), so a lone
client is never delayed."""
GROUP_COMMIT_TRANSFERS_MAX = BATCH_TRANSFERS_MAX
"""Transfers the ledger's batcher puts in one transaction (the sum over its callers)."""

# Requests
REQUEST_BODY_BYTES_MAX = 1024 * 1024
"""Largest request body accepted (413 beyond): every body of this API is small."""

# Back office (issue 12)
OPERATOR_SESSION_TTL_S = 8 * 3600
"""An operator's back-office session ends after a working day, whatever happens."""
OPERATOR_SESSION_IDLE_S = 30 * 60
"""...and after this long without a request."""
OPERATOR_ONE_TIME_PASSWORD_BYTES = 18
"""Random bytes of the one-time password ``amanah operators create`` prints (24 characters)."""
BACKOFFICE_PAGE_ROWS = 50
"""Rows per page of the back office's lists (audit log, history, search results)."""
BACKOFFICE_SEARCH_TEXT_LENGTH_MAX = 320
AUDIT_LABEL_LENGTH_MAX = 320
AUDIT_JSON_BYTES_MAX = 64 * 1024
"""A before/after snapshot larger than this is cut (and says so): audit rows stay small."""
HISTORY_QUERY_SHAPES_CACHED = 256
"""Payment-history statements kept built, one per page shape (ranges read, filters used)."""

# Hardening (issue 28)
STATIC_PATH_LENGTH_MAX = 200
"""A static file's name (under ``/static/``) longer than this is simply not ours: 404."""
HSTS_MAX_AGE_S = 2 * 365 * 24 * 3600
"""``Strict-Transport-Security: max-age`` when the base URL is https (at least a year)."""
CAPTCHAS_PER_ADDRESS_PER_MINUTE = 30
"""New captchas one client address may ask for in a minute (429 beyond): each one is a row."""
CAPTCHAS_PER_ADDRESS_PER_HOUR = 300
FX_QUOTES_PER_CALLER_PER_MINUTE = 120
"""FX quotes one caller (a platform key or a user's token) may ask for in a minute."""
FX_QUOTES_PER_ADDRESS_PER_MINUTE = 240
"""FX quotes from one client address in a minute, whoever the callers are."""
RATE_LIMIT_WINDOW_S = 60
"""The fixed window the per-minute counters above count in."""
RATE_LIMIT_PURGE_BATCH_MAX = 1000
"""Old rate-limit counter rows one purge pass deletes."""
