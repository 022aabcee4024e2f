"""Image captchas: single use, expiring, the answer stored as a digest.

The image comes from the ``captcha`` package (distorted glyphs and noise). The alphabet leaves
out look-alikes (0/O, 1/I/L, 2/Z, 5/S, 8/B). With ``AMANAH_CAPTCHA=test`` (test mode only) the
answer is always ``test``. A captcha is used up by its first answer, right or wrong, so it cannot
be guessed at.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from amanah.core import limits
from amanah.core.config import CaptchaMode, Settings
from amanah.users.models import captchas

ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
TEST_ANSWER = "test"


@dataclass(frozen=True)
class NewCaptcha:
    captcha_id: str
    image_png: bytes
    expires_at: datetime


def _answer_digest(captcha_id: str, answer: str) -> str:
    normalized = "".join(answer.split()).upper()
    return hashlib.sha256(f"{captcha_id}:{normalized}".encode("utf-8")).hexdigest()


def _image_png(text: str) -> bytes:
    from captcha.image import ImageCaptcha  # Pillow is imported only when a captcha is drawn

    return ImageCaptcha(width=200, height=70).generate(text, format="png").getvalue()


def create_captcha(conn: Connection, settings: Settings, *, now: datetime) -> NewCaptcha:
    if settings.captcha is CaptchaMode.TEST:
        answer = TEST_ANSWER
    else:
        answer = "".join(secrets.choice(ALPHABET) for _ in range(limits.CAPTCHA_LENGTH))
    captcha_id = "cap_" + secrets.token_urlsafe(16)
    expires_at = now + timedelta(seconds=limits.CAPTCHA_TTL_S)
    conn.execute(captchas.insert().values(id=captcha_id, answer_hash=_answer_digest(captcha_id, answer),
                                          created_at=now, expires_at=expires_at))
    return NewCaptcha(captcha_id, _image_png(answer.upper()), expires_at)


def consume_captcha(conn: Connection, captcha_id: str | None, answer: str | None, *, now: datetime) -> bool:
    """True if the answer is right; the captcha is used up either way."""
    if not captcha_id or not answer or len(captcha_id) > 64 or len(answer) > limits.CAPTCHA_ANSWER_LENGTH_MAX:
        return False
    row = conn.execute(sa.select(captchas.c.answer_hash).where(
        captchas.c.id == captcha_id, captchas.c.used_at.is_(None), captchas.c.expires_at > now)).first()
    if row is None:
        return False
    used = conn.execute(captchas.update().where(captchas.c.id == captcha_id, captchas.c.used_at.is_(None))
                        .values(used_at=now))
    right = hmac.compare_digest(row.answer_hash, _answer_digest(captcha_id, answer))
    return right and used.rowcount == 1
