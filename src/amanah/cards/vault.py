"""The card vault: the only code that ever sees a full card number (after PCI DSS 3.3–3.7).

- Each card number is encrypted with AES-256-GCM under a data key of its own (DEK); the DEK is
  wrapped (AES-256-GCM again) by the key-encryption key (KEK) read from
  ``AMANAH_VAULT_KEY_FILE``. The card id is bound in as associated data, so a ciphertext copied to
  another row does not decrypt.
- A keyed fingerprint (HMAC-SHA256 under a separate key) finds the same card bound twice
  without being reversible.
- The CVC is never given to the vault: it goes to the acquirer once and is forgotten.
- Key rotation (``rotate_key``): the old KEK is kept in ``<key file>.previous`` while every DEK
  is re-wrapped in batches; an interrupted rotation is finished by running it again.
- ``CardNumber`` carries a number in memory and prints as ``•••• 4242``, so a log line or a
  traceback cannot leak it by accident.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from amanah.cards.errors import VaultKeyMissing
from amanah.core.config import Environment, Settings

KEY_BYTES = 32
NONCE_BYTES = 12


class CardNumber:
    """A full card number that refuses to show itself."""

    __slots__ = ("_digits",)

    def __init__(self, digits: str) -> None:
        self._digits = digits

    def reveal(self) -> str:
        """The digits, for the acquirer only."""
        return self._digits

    @property
    def last4(self) -> str:
        return self._digits[-4:]

    def __repr__(self) -> str:
        return f"CardNumber(•••• {self.last4})"

    __str__ = __repr__

    def __reduce__(self):  # never pickled into a cache or a queue
        raise TypeError("a CardNumber cannot be serialised")


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"amanah-vault-kek:" + key).hexdigest()[:16]


@dataclass(frozen=True)
class Keyring:
    active: bytes
    previous: tuple[bytes, ...]
    fingerprint_key: bytes

    @property
    def active_id(self) -> str:
        return key_id(self.active)

    def kek(self, wanted_id: str) -> bytes:
        for key in (self.active, *self.previous):
            if key_id(key) == wanted_id:
                return key
        raise VaultKeyMissing(f"The vault key {wanted_id} is not available: restore it or the card "
                              "cannot be read.")


@dataclass(frozen=True)
class SealedNumber:
    ciphertext: bytes
    wrapped_key: bytes
    kek_id: str


# --- key files -------------------------------------------------------------------------------

def _read_key(path: Path) -> bytes:
    key = base64.urlsafe_b64decode(path.read_text().strip())
    if len(key) != KEY_BYTES:
        raise VaultKeyMissing(f"The vault key file {path} does not hold a {KEY_BYTES}-byte key.")
    return key


def _write_key_file(path: Path, key: bytes, *, exclusive: bool) -> None:
    """Writes a key with mode 0600; atomically (temp file + rename), or exclusively when
    several processes may race to create the first one."""
    data = base64.urlsafe_b64encode(key) + b"\n"
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if exclusive:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        return
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _load_or_create(path: Path, settings: Settings) -> bytes:
    if not path.exists():
        if settings.env == Environment.PRODUCTION:
            raise VaultKeyMissing(f"The vault key file {path} is missing: production needs one "
                                  "(AMANAH_VAULT_KEY_FILE).")
        try:
            _write_key_file(path, AESGCM.generate_key(bit_length=256), exclusive=True)
        except FileExistsError:
            pass  # another process created it first
    return _read_key(path)


def key_paths(settings: Settings) -> tuple[Path, Path, Path]:
    """The KEK, the previous KEKs during a rotation, and the fingerprint key."""
    path = settings.resolved_vault_key_file
    return path, path.with_name(path.name + ".previous"), path.with_name(path.name + ".fingerprint")


_cache: dict[tuple, Keyring] = {}


def keyring(settings: Settings) -> Keyring:
    """The current keys, re-read whenever a key file changes (after a rotation elsewhere)."""
    active_path, previous_path, fingerprint_path = key_paths(settings)
    active = _load_or_create(active_path, settings)
    fingerprint_key = _load_or_create(fingerprint_path, settings)
    stamp = (str(active_path), active_path.stat().st_mtime_ns,
             previous_path.stat().st_mtime_ns if previous_path.exists() else 0)
    cached = _cache.get(stamp)
    if cached is not None and cached.active == active:
        return cached
    previous: tuple[bytes, ...] = ()
    if previous_path.exists():
        previous = tuple(base64.urlsafe_b64decode(line) for line in previous_path.read_text().split())
    ring = Keyring(active, previous, fingerprint_key)
    _cache.clear()
    _cache[stamp] = ring
    return ring


# --- sealing and opening ---------------------------------------------------------------------

def _encrypt(key: bytes, plaintext: bytes, associated: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, associated)


def _decrypt(key: bytes, sealed: bytes, associated: bytes) -> bytes:
    return AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], associated)


def seal(ring: Keyring, card_id: str, number: CardNumber) -> SealedNumber:
    data_key = AESGCM.generate_key(bit_length=256)
    ciphertext = _encrypt(data_key, number.reveal().encode("ascii"), card_id.encode())
    wrapped = _encrypt(ring.active, data_key, f"{card_id}:{ring.active_id}".encode())
    return SealedNumber(ciphertext, wrapped, ring.active_id)


def open_number(ring: Keyring, card_id: str, sealed: SealedNumber) -> CardNumber:
    data_key = _decrypt(ring.kek(sealed.kek_id), sealed.wrapped_key, f"{card_id}:{sealed.kek_id}".encode())
    return CardNumber(_decrypt(data_key, sealed.ciphertext, card_id.encode()).decode("ascii"))


def rewrap(ring: Keyring, card_id: str, sealed: SealedNumber) -> SealedNumber:
    """The same encrypted number with its data key wrapped by the active KEK."""
    data_key = _decrypt(ring.kek(sealed.kek_id), sealed.wrapped_key, f"{card_id}:{sealed.kek_id}".encode())
    wrapped = _encrypt(ring.active, data_key, f"{card_id}:{ring.active_id}".encode())
    return SealedNumber(sealed.ciphertext, wrapped, ring.active_id)


def fingerprint(ring: Keyring, number: CardNumber) -> str:
    return hmac.new(ring.fingerprint_key, number.reveal().encode("ascii"), hashlib.sha256).hexdigest()


# --- rotation --------------------------------------------------------------------------------

def start_rotation(settings: Settings) -> Keyring:
    """Makes a new KEK active, keeping the old one readable in ``.previous``.

    Order matters for crash safety: the old key is saved (and synced) before the new one
    replaces it, so at every instant every wrapped data key has its KEK on disk."""
    active_path, previous_path, _ = key_paths(settings)
    ring = keyring(settings)
    kept = [*ring.previous, ring.active]
    lines = "".join(base64.urlsafe_b64encode(key).decode() + "\n" for key in dict.fromkeys(kept))
    temporary = previous_path.with_name(previous_path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(lines)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, previous_path)
    _fsync_directory(previous_path.parent)
    _write_key_file(active_path, AESGCM.generate_key(bit_length=256), exclusive=False)
    return keyring(settings)


def rotation_in_progress(settings: Settings) -> bool:
    return key_paths(settings)[1].exists()


def finish_rotation(settings: Settings) -> None:
    """Forgets the old KEKs; call only when no data key is wrapped by one any more."""
    key_paths(settings)[1].unlink(missing_ok=True)
    _cache.clear()
