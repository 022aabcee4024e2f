"""The mail outbox: queued with the change, delivered by SMTP or as .eml, retried, claimed once."""

from __future__ import annotations

import email
import secrets
from datetime import timedelta
from email.policy import default as default_policy

import pytest
import sqlalchemy as sa

from amanah import mail
from amanah.core import limits
from amanah.core.clock import clock
from amanah.core.config import Settings
from amanah.core.db import run_in_transaction
from amanah.mail import service
from amanah.mail.jobs import deliver_due
from amanah.mail.models import outbox
from tests.integration.mail.smtp_server import free_port, html_part, smtp_server, text_part


def _address() -> str:
    return f"mail.{secrets.token_hex(6)}@example.com"


def _queue(engine, to: str, template: str = "password_reset", locale: str = "en") -> int:
    return run_in_transaction(engine, lambda conn: mail.enqueue(
        conn, to=to, template=template, locale=locale, params={"token": "upr_test", "name": "Ana"}, now=clock.now()))


def _row(engine, mail_id: int):
    with engine.connect() as conn:
        return conn.execute(sa.select(outbox).where(outbox.c.id == mail_id)).one()


def _settings(database_url: str, tmp_path, smtp_url: str | None = None) -> Settings:
    return Settings(env="test", database_url=database_url, data_dir=tmp_path / "data", smtp_url=smtp_url,
                    base_url="https://pay.example", mail_from="Amanah <no-reply@pay.example>")


def _deliver(engine, settings, now=None) -> None:
    while deliver_due(engine, settings, now or clock.now()):
        pass


class TestQueuingAMailWithTheChangeThatCausesIt:
    def test_a_mail_queued_in_a_rolled_back_transaction_is_never_sent(self, engine):
        to = _address()

        def work(conn):
            mail.enqueue(conn, to=to, template="verify_email", locale="en", params={"token": "t"}, now=clock.now())
            raise RuntimeError("the change failed")

        with pytest.raises(RuntimeError):
            run_in_transaction(engine, work)
        with engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).where(outbox.c.to_address == to)).scalar() == 0


class TestDeliveringBySmtp:
    def test_the_server_receives_a_text_and_html_mail_in_the_users_language(self, engine, database_url, tmp_path):
        to = _address()
        mail_id = _queue(engine, to, locale="ru")
        with smtp_server() as (inbox, port):
            _deliver(engine, _settings(database_url, tmp_path, f"smtp://127.0.0.1:{port}"))
        [received] = inbox.to(to)
        assert received["From"] == "Amanah <no-reply@pay.example>"
        assert received["Subject"] == "Восстановление пароля Amanah"
        assert "https://pay.example/reset-password?token=upr_test" in text_part(received)
        assert 'href="https://pay.example/reset-password?token=upr_test"' in html_part(received)
        row = _row(engine, mail_id)
        assert row.status == "sent" and row.attempts == 1 and row.subject == received["Subject"]

    def test_sent_mail_is_listed_newest_first(self, engine, database_url, tmp_path):
        first, second = _address(), _address()
        _queue(engine, first)
        with smtp_server() as (_inbox, port):
            settings = _settings(database_url, tmp_path, f"smtp://127.0.0.1:{port}")
            _deliver(engine, settings, clock.now())
            _queue(engine, second)
            _deliver(engine, settings, clock.now() + timedelta(seconds=1))
        with engine.connect() as conn:
            listed = [sent.to for sent in mail.list_sent(conn, 100)]
        assert listed.index(second) < listed.index(first)


class TestWritingEmlFilesWhenNoSmtpServerIsSet:
    def test_each_mail_becomes_a_readable_eml_file_under_the_data_dir(self, engine, database_url, tmp_path):
        to = _address()
        mail_id = _queue(engine, to, template="invitation", locale="id")
        _deliver(engine, _settings(database_url, tmp_path))
        files = sorted((tmp_path / "data" / "mail").glob("*.eml"))
        parsed = [email.message_from_bytes(path.read_bytes(), policy=default_policy) for path in files]
        [message] = [message for message in parsed if message["To"] == to]
        assert message["Subject"] == "Akun Amanah Anda sudah siap"
        assert "https://pay.example/reset-password?token=upr_test" in text_part(message)
        assert oct(files[0].stat().st_mode & 0o777) == "0o600"
        assert _row(engine, mail_id).status == "sent"


class TestRetryingWhenTheServerIsDown:
    def test_a_mail_waits_with_back_off_and_goes_out_once_the_server_is_back(self, engine, database_url, tmp_path):
        to, port = _address(), free_port()
        mail_id = _queue(engine, to)
        settings = _settings(database_url, tmp_path, f"smtp://127.0.0.1:{port}")
        start = clock.now()
        _deliver(engine, settings, start)  # nothing listens on the port
        row = _row(engine, mail_id)
        assert (row.status, row.attempts) == ("queued", 1)
        assert row.next_attempt_at == start + timedelta(seconds=limits.MAIL_RETRY_BACKOFF_FIRST_S)
        assert "ConnectionRefusedError" in row.last_error
        with smtp_server(port) as (inbox, _port):
            _deliver(engine, settings, start + timedelta(seconds=1))  # not due yet
            assert inbox.to(to) == []
            _deliver(engine, settings, row.next_attempt_at)
        assert len(inbox.to(to)) == 1
        assert (_row(engine, mail_id).status, _row(engine, mail_id).attempts) == ("sent", 2)

    def test_the_back_off_doubles_up_to_a_limit(self):
        assert [service.retry_delay_s(n) for n in (1, 2, 3)] == [30, 60, 120]
        assert service.retry_delay_s(50) == limits.MAIL_RETRY_BACKOFF_MAX_S

    def test_after_the_last_attempt_the_mail_is_marked_failed(self, engine, database_url, tmp_path):
        to = _address()
        mail_id = _queue(engine, to)
        with engine.begin() as conn:
            conn.execute(outbox.update().where(outbox.c.id == mail_id).values(attempts=limits.MAIL_ATTEMPTS_MAX - 1))
        _deliver(engine, _settings(database_url, tmp_path, f"smtp://127.0.0.1:{free_port()}"))
        assert _row(engine, mail_id).status == "failed"


class TestClaimingMailSafely:
    def test_a_claimed_mail_is_not_claimed_again_while_its_lease_runs(self, engine):
        mail_id = _queue(engine, _address())
        now = clock.now()
        first = run_in_transaction(engine, lambda conn: service.claim_due(conn, now=now, limit=1000))
        again = run_in_transaction(engine, lambda conn: service.claim_due(conn, now=now, limit=1000))
        assert mail_id in [m.id for m in first] and mail_id not in [m.id for m in again]
        later = now + timedelta(seconds=limits.MAIL_CLAIM_LEASE_S)
        taken_over = run_in_transaction(engine, lambda conn: service.claim_due(conn, now=later, limit=1000))
        assert mail_id in [m.id for m in taken_over]  # its sender died: another one takes it

    @pytest.mark.postgres_only
    def test_two_senders_at_the_same_moment_claim_different_mails(self, engine):
        ids = {_queue(engine, _address()) for _ in range(4)}
        now = clock.now() + timedelta(days=400)  # past every lease other tests left
        with engine.connect() as first, engine.connect() as second:
            with first.begin():
                mine = service.claim_due(first, now=now, limit=1000)
                with second.begin():  # would block on the first's rows without SKIP LOCKED
                    theirs = service.claim_due(second, now=now, limit=1000)
        assert ids <= {m.id for m in mine} and not ids & {m.id for m in theirs}
