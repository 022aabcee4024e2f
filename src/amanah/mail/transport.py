"""Delivery: SMTP when ``AMANAH_SMTP_URL`` is set, ``.eml`` files under the data dir otherwise.

URLs: ``smtp://[user:pass@]host[:25]`` (plain, or whatever the server offers without TLS),
``smtp+starttls://…[:587]`` (STARTTLS required), ``smtps://…[:465]`` (TLS from the start).
"""

from __future__ import annotations

import os
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from urllib.parse import unquote, urlsplit

from amanah.core import limits
from amanah.core.config import Settings
from amanah.mail.templates import Rendered

_DEFAULT_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


class PermanentFailure(Exception):
    """The server refused the message for good (a 5xx answer): retrying will not help."""


@dataclass(frozen=True)
class SmtpServer:
    scheme: str
    host: str
    port: int
    username: str | None
    password: str | None


def parse_smtp_url(url: str) -> SmtpServer:
    parts = urlsplit(url)
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError("AMANAH_SMTP_URL must look like smtp://user:pass@host:port "
                         "(or smtp+starttls://, smtps://)")
    return SmtpServer(parts.scheme, parts.hostname, parts.port or _DEFAULT_PORTS[parts.scheme],
                      unquote(parts.username) if parts.username else None,
                      unquote(parts.password) if parts.password else None)


def build_message(*, sender: str, to: str, rendered: Rendered, now: datetime) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = rendered.subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain="amanah")
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    return message


def deliver(message: EmailMessage, settings: Settings) -> None:
    """Sends or writes one message; raises ``OSError``/``smtplib.SMTPException`` to be retried
    and ``PermanentFailure`` when the server refuses it for good."""
    if settings.smtp_url:
        _send_smtp(message, parse_smtp_url(settings.smtp_url))
    else:
        write_eml(message, settings.data_dir / "mail")


def _send_smtp(message: EmailMessage, server: SmtpServer) -> None:
    context = ssl.create_default_context()
    if server.scheme == "smtps":
        client = smtplib.SMTP_SSL(server.host, server.port, timeout=limits.SMTP_TIMEOUT_S, context=context)
    else:
        client = smtplib.SMTP(server.host, server.port, timeout=limits.SMTP_TIMEOUT_S)
    with client:
        if server.scheme == "smtp+starttls":
            client.starttls(context=context)
        if server.username:
            client.login(server.username, server.password or "")
        try:
            client.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            if all(code >= 500 for code, _ in error.recipients.values()):
                raise PermanentFailure("the server refused the recipient") from error
            raise
        except smtplib.SMTPResponseException as error:
            if error.smtp_code >= 500:
                raise PermanentFailure(f"the server refused the message ({error.smtp_code})") from error
            raise


def write_eml(message: EmailMessage, directory: Path) -> Path:
    """Writes the message as ``<time>-<random>.eml`` (mode 0600: it may hold a reset link)."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S%f")
    path = directory / f"{stamp}-{os.urandom(4).hex()}.eml"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(message.as_bytes())
    return path
