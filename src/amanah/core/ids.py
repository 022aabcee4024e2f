"""Public ids: a type prefix and a time-ordered random part (ULID layout, Crockford base32).

``usr_01JD8Z5M6X0E4H1S8W3Q2C9N7K``: 48 bits of milliseconds then 80 random bits, so ids of
one type sort by creation time, which keyset pagination and B-tree inserts both like.
"""

from __future__ import annotations

import hashlib
import os
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PREFIXES = frozenset(
    {"usr", "sel", "trd", "card", "top", "wdr", "ref", "dsp", "qt", "whe", "evt", "plt", "xfr", "adk", "chg", "whd", "opr", "aud", "pk"}
)


def _base32(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, digit = divmod(value, 32)
        chars.append(_ALPHABET[digit])
    assert value == 0
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    """A new id such as ``trd_01JD8Z5M6X0E4H1S8W3Q2C9N7K`` (prefix + ``_`` + 26 characters)."""
    assert prefix in PREFIXES, f"unknown id prefix {prefix!r}"
    milliseconds = time.time_ns() // 1_000_000
    randomness = int.from_bytes(os.urandom(10), "big")
    return f"{prefix}_{_base32((milliseconds << 80) | randomness, 26)}"


def has_prefix(value: str, prefix: str) -> bool:
    return value.startswith(prefix + "_") and len(value) == len(prefix) + 27


def derived_id(prefix: str, *parts: str) -> str:
    """The same id every time for the same parts: a request retried under its idempotency key
    (``derived_id("ref", caller, key)``) names the record its first run made, so a second run
    (after a crash the key's lease outlived) finds it instead of making another."""
    assert prefix in PREFIXES and parts, f"unknown id prefix {prefix!r}"
    digest = hashlib.sha256("\x1f".join((prefix, *parts)).encode("utf-8")).digest()
    return f"{prefix}_{_base32(int.from_bytes(digest[:17], 'big') >> 6, 26)}"


def for_request(prefix: str, scope: str, idempotency_key: str | None) -> str:
    """A derived id when the request carries an idempotency key, else a new one."""
    return derived_id(prefix, scope, idempotency_key) if idempotency_key else new_id(prefix)
