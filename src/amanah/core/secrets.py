"""Random secrets shown once and stored as hashes (API keys, tokens, links).

These are at least 256 bits of randomness, so SHA-256 suffices to store them (a slow password
hash protects guessable secrets; these are not guessable). Lookups go by hash, which also makes
the comparison independent of how many leading characters match."""

from __future__ import annotations

import hashlib
import hmac
import secrets

SECRET_BYTES = 32


def new_secret(prefix: str) -> str:
    """``prefix_`` + 43 url-safe characters (256 random bits)."""
    return f"{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def same_secret(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))
