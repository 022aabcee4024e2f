"""Which connector serves a payment method. One place to plug a real acquirer in."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from amanah.cards.connectors import CardAcquirer, EWalletProvider
from amanah.cards.connectors.sandbox import EWALLET_PROVIDERS, SandboxAcquirer, SandboxEWallet
from amanah.cards.errors import InvalidCard
from amanah.core.config import Settings


def card_acquirer(engine: Engine, settings: Settings) -> CardAcquirer:
    return SandboxAcquirer(engine, settings)


def check_ewallet(provider: str) -> str:
    if provider not in EWALLET_PROVIDERS:
        supported = ", ".join(f"wallet:{name}" for name in EWALLET_PROVIDERS)
        raise InvalidCard(f"Unknown e-wallet; supported: {supported}.", code="unknown_ewallet", param="source")
    return provider


def ewallet(engine: Engine, settings: Settings, provider: str) -> EWalletProvider:
    return SandboxEWallet(engine, settings, check_ewallet(provider))


def by_name(engine: Engine, settings: Settings, name: str):
    if name == SandboxAcquirer.name:
        return card_acquirer(engine, settings)
    return ewallet(engine, settings, name)


def all_connectors(engine: Engine, settings: Settings) -> list[CardAcquirer | EWalletProvider]:
    """Every connector money can move through (reconciliation asks each for its settlements)."""
    return [card_acquirer(engine, settings), *(ewallet(engine, settings, name) for name in EWALLET_PROVIDERS)]
