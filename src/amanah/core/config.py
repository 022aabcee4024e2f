"""Settings, read from ``AMANAH_*`` environment variables and a ``.env`` file (API.md)."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from amanah.core import limits


class Environment(enum.StrEnum):
    PRODUCTION = "production"
    DEVELOPMENT = "development"
    TEST = "test"


class CaptchaMode(enum.StrEnum):
    IMAGE = "image"
    """A real image captcha (the default everywhere)."""
    TEST = "test"
    """The answer is always ``test``; refused unless ``AMANAH_ENV=test``."""


class JobsMode(enum.StrEnum):
    AUTO = "auto"
    """The background jobs run on their own, in real time (the default everywhere, test mode too)."""
    MANUAL = "manual"
    """``amanah serve`` runs no jobs of its own: they run only when ``POST /v1/test/clock/advance``
    (or a test) calls them, so that a test suite sees every effect at a moment it chose. Refused
    unless ``AMANAH_ENV=test``; ``amanah worker`` runs its jobs whatever this says."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="AMANAH_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    env: Environment = Environment.DEVELOPMENT
    data_dir: Path = Path("./amanah-data")
    database_url: str | None = None
    """Any SQLAlchemy URL; unset means the embedded SQLite file under ``data_dir``."""
    base_url: str = "http://127.0.0.1:8000"
    smtp_url: str | None = None
    captcha: CaptchaMode = CaptchaMode.IMAGE
    vault_key_file: Path | None = None
    webhook_allow_private: bool = False
    run_jobs: bool = True
    """Whether ``amanah serve`` also runs the background jobs (turn off when separate
    ``amanah worker`` processes run them)."""
    jobs: JobsMode = JobsMode.AUTO
    """``AMANAH_JOBS``: ``auto`` (jobs run on their own, test mode included) or ``manual`` (only
    the test clock runs them: for deterministic test suites)."""
    group_commit: bool = False
    """Money-moving API requests (pay from balance, confirm, refund, dispute resolution
    ) share a transaction and its commit with concurrent requests, each in a
    savepoint of its own (``run_in_transaction(..., group=True)``). Off by default: measured in
    ``benchmarks/http_pay.py``, it pays where the commit (fsync) is the cost, not the round trips."""
    connector_timeout_s: float = Field(limits.CONNECTOR_TIMEOUT_S, gt=0, le=120)
    """How long a card acquirer or e-wallet may take before the call counts as timed out (the
    sandbox's timeout test card waits this long)."""
    fx_spread_bps: int = Field(150, ge=0, le=limits.FX_SPREAD_BPS_MAX)
    """The margin on every conversion, in basis points of the mid-market rate (150 = 1.5%)."""
    fx_quote_validity_s: int = Field(60, ge=limits.FX_QUOTE_VALIDITY_MIN_S, le=limits.FX_QUOTE_VALIDITY_MAX_S)
    """How long an FX quote can be locked by a payment after it is given."""
    fx_rate_age_max_days: int = Field(4, ge=0, le=limits.FX_RATE_AGE_DAYS_LIMIT)
    """Quotes refuse rates older than this many days (4 covers a long weekend of no ECB rates)."""
    withdrawal_per_transaction_max: dict[str, int] = {}
    """Per currency, the largest single withdrawal in minor units, e.g. ``{"USD": 500000}``;
    currencies not named keep ``limits.WITHDRAWAL_PER_TRANSACTION_MAX_MAJOR``."""
    withdrawal_daily_max: dict[str, int] = {}
    """Per currency, what one user may withdraw in any 24 hours, in minor units; currencies not
    named allow ``limits.WITHDRAWAL_DAILY_MAX_FACTOR`` times their per-transaction limit."""
    password_hashing: Literal["owasp", "test"] = "owasp"
    """Argon2id cost: ``owasp`` (m=19456 KiB, t=2, p=1); ``test`` is nearly free, for fast test
    runs only, and refused unless ``AMANAH_ENV=test``."""
    mail_from: str = "Amanah <no-reply@amanah.invalid>"
    """The ``From:`` of every e-mail the service sends."""
    trust_x_forwarded_for: bool = False
    """Behind one reverse proxy: take the client's address (log-in throttling) from the last
    ``X-Forwarded-For`` entry. Leave off when clients connect directly: they could forge it."""

    @model_validator(mode="after")
    def _check_users(self) -> "Settings":
        if self.password_hashing == "test" and self.env is not Environment.TEST:
            raise ValueError("AMANAH_PASSWORD_HASHING=test is only allowed with AMANAH_ENV=test")
        if self.jobs is JobsMode.MANUAL and self.env is not Environment.TEST:
            raise ValueError("AMANAH_JOBS=manual is only allowed with AMANAH_ENV=test (nothing would run the jobs)")
        return self

    @model_validator(mode="after")
    def _check(self) -> "Settings":
        if self.captcha is CaptchaMode.TEST and self.env is not Environment.TEST:
            raise ValueError("AMANAH_CAPTCHA=test is only allowed with AMANAH_ENV=test")
        self.base_url = self.base_url.rstrip("/")
        return self

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'amanah.db'}"

    @property
    def resolved_vault_key_file(self) -> Path:
        return self.vault_key_file or self.data_dir / "vault.key"

    @property
    def is_test(self) -> bool:
        return self.env == Environment.TEST

    @property
    def serve_runs_jobs(self) -> bool:
        """Whether ``amanah serve`` runs the background jobs in a thread beside the API."""
        return self.run_jobs and self.jobs is JobsMode.AUTO

    def ensure_data_dir(self) -> None:
        """Creates the data directory (mode 0700: it holds keys and the embedded database)."""
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)


def load_settings(**overrides) -> Settings:
    return Settings(**overrides)
