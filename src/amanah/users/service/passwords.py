"""Passwords: the policy (length, not a common one) and Argon2id hashing.

Argon2id at OWASP's parameters (m=19456 KiB, t=2, p=1). When the parameters change, a hash
is replaced at the user's next successful log-in (``needs_rehash``). An unknown e-mail, or an
account with no password yet, is checked against a dummy hash of the same cost, so a failed
log-in takes as long either way.

The common-passwords list is the top of the ranked ``passwords`` list shipped in the zxcvbn
package (MIT; Dropbox's list, ranked by frequency in a corpus of 10 million leaked
passwords); we take its first ``COMMON_PASSWORDS_COUNT`` entries.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from argon2 import PasswordHasher, Type, profiles
from argon2.exceptions import InvalidHashError, VerificationError

from amanah.core import limits
from amanah.core.config import Settings
from amanah.users.errors import WeakPassword

OWASP = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, hash_len=32, salt_len=16, type=Type.ID)
# Nearly free; only ``AMANAH_PASSWORD_HASHING=test`` (refused outside test mode) selects it.
TEST = PasswordHasher.from_parameters(profiles.CHEAPEST)


def hasher_for(settings: Settings) -> PasswordHasher:
    return TEST if settings.password_hashing == "test" else OWASP


def _normalized(password: str) -> str:
    # The same password typed on another keyboard or OS must match (NIST SP 800-63B 5.1.1.2).
    return unicodedata.normalize("NFKC", password)


def hash_password(settings: Settings, password: str) -> str:
    return hasher_for(settings).hash(_normalized(password))


@lru_cache(maxsize=4)
def _dummy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash("no account has this password")


def verify_password(settings: Settings, stored_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; with no stored hash, spends the same time and says no."""
    hasher = hasher_for(settings)
    candidate = _normalized(password)[: limits.PASSWORD_LENGTH_MAX * 4]
    try:
        matches = hasher.verify(stored_hash or _dummy_hash(hasher), candidate)
    except (VerificationError, InvalidHashError):
        return False
    return matches and stored_hash is not None


def needs_rehash(settings: Settings, stored_hash: str) -> bool:
    return hasher_for(settings).check_needs_rehash(stored_hash)


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    ranked = FREQUENCY_LISTS["passwords"][: limits.COMMON_PASSWORDS_COUNT]
    assert len(ranked) == limits.COMMON_PASSWORDS_COUNT
    return frozenset(password.lower() for password in ranked)


def check_policy(password: str, *, email: str = "", name: str = "") -> None:
    """Refuses passwords that are too short, too long, common, or the user's own e-mail/name."""
    normalized = _normalized(password)
    if len(normalized) < limits.PASSWORD_LENGTH_MIN:
        raise WeakPassword(f"The password must have at least {limits.PASSWORD_LENGTH_MIN} characters.",
                           param="password")
    if len(normalized) > limits.PASSWORD_LENGTH_MAX:
        raise WeakPassword(f"The password may have at most {limits.PASSWORD_LENGTH_MAX} characters.",
                           param="password")
    lowered = normalized.lower()
    if lowered in common_passwords():
        raise WeakPassword("This password is among the most common ones and easy to guess; choose another.",
                           param="password")
    own = {email.lower(), email.lower().split("@")[0], name.strip().lower()} - {""}
    if lowered in own:
        raise WeakPassword("The password must not be your e-mail address or your name.", param="password")
