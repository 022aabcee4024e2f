"""The image captcha: a real PNG, single use, expiring, the answer never stored as given."""

from __future__ import annotations

import base64
from datetime import timedelta

import sqlalchemy as sa

from amanah.core import limits
from amanah.users.models import captchas
from amanah.users.service.captcha import ALPHABET, consume_captcha, create_captcha


class TestGettingACaptcha:
    def test_the_api_returns_a_png_image_and_an_id(self, client):
        body = client.get("/v1/captcha").json()
        assert body["captcha_id"].startswith("cap_")
        assert base64.b64decode(body["image_png_base64"]).startswith(b"\x89PNG\r\n\x1a\n")

    def test_in_image_mode_the_answer_is_random_and_only_its_digest_is_stored(self, engine, settings, now):
        image_mode = settings.model_copy(update={"captcha": "image"})
        with engine.begin() as conn:
            made = create_captcha(conn, image_mode, now=now)
            stored = conn.execute(sa.select(captchas).where(captchas.c.id == made.captcha_id)).one()
            assert len(stored.answer_hash) == 64 and not consume_captcha(conn, made.captcha_id, "test", now=now)
        assert set(ALPHABET).isdisjoint("0O1IL") and len(made.image_png) > 1000


class TestUsingACaptcha:
    def test_the_right_answer_works_once(self, engine, settings, now):
        with engine.begin() as conn:
            made = create_captcha(conn, settings, now=now)
            assert consume_captcha(conn, made.captcha_id, "TEST", now=now)
            assert not consume_captcha(conn, made.captcha_id, "test", now=now)

    def test_a_wrong_answer_uses_it_up(self, engine, settings, now):
        with engine.begin() as conn:
            made = create_captcha(conn, settings, now=now)
            assert not consume_captcha(conn, made.captcha_id, "guess", now=now)
            assert not consume_captcha(conn, made.captcha_id, "test", now=now)

    def test_it_expires(self, engine, settings, now):
        with engine.begin() as conn:
            made = create_captcha(conn, settings, now=now)
            expired = now + timedelta(seconds=limits.CAPTCHA_TTL_S)
            assert not consume_captcha(conn, made.captcha_id, "test", now=expired)

    def test_an_unknown_or_missing_captcha_is_simply_wrong(self, engine, now):
        with engine.begin() as conn:
            assert not consume_captcha(conn, "cap_nope", "test", now=now)
            assert not consume_captcha(conn, None, None, now=now)
            assert not consume_captcha(conn, "cap_" + "x" * 500, "test", now=now)


class TestPurgingExpiredCaptchas:
    def test_the_purge_job_deletes_expired_captchas_and_keeps_current_ones(self, engine, settings, now):
        from amanah.users.jobs import purge_expired

        with engine.begin() as conn:
            old = create_captcha(conn, settings, now=now - timedelta(seconds=limits.CAPTCHA_TTL_S + 1))
            current = create_captcha(conn, settings, now=now)
        while purge_expired(engine, settings, now):
            pass
        with engine.connect() as conn:
            left = set(conn.execute(sa.select(captchas.c.id).where(
                captchas.c.id.in_([old.captcha_id, current.captcha_id]))).scalars())
        assert left == {current.captcha_id}
