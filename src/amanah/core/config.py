"""Settings, read from ``AMANAH_*`` environment variables and a ``.env`` file (API.md)."""

from __future__ import annotations

import enum
from functools import cached_property
from pathlib import Path

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Environment(enum.StrEnum):
    PRODUCTION = "production"
    DEVELOPMENT = "development"
    TEST = "test"


class CaptchaMode(enum.StrEnum):
    IMAGE = "image"
    """A real image captcha (the default everywhere)."""
    TEST = "test"
    """The answer is always ``test``; refused unless ``AMANAH_ENV=test``."""


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

    @model_validator(mode="after")
    def _check(self) -> "Settings":
        if self.captcha is CaptchaMode.TEST and self.env is not Environment.TEST:
            raise ValueError("AMANAH_CAPTCHA=test is only allowed with AMANAH_ENV=test")
        self.base_url = self.base_url.rstrip("/")
        return self

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'amanah.db'}"

    @cached_property
    def resolved_vault_key_file(self) -> Path:
        return self.vault_key_file or self.data_dir / "vault.key"

    @property
    def is_test(self) -> bool:
        return self.env is Environment.TEST

    def ensure_data_dir(self) -> None:
        """Creates the data directory (mode 0700: it holds keys and the embedded database)."""
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)


def load_settings(**overrides) -> Settings:
    return Settings(**overrides)
