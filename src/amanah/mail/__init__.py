"""Mail, as an outbox.

- A domain that needs to e-mail someone calls ``enqueue(conn, to=, template=, locale=,
  params=, now=)`` inside the transaction of the change that causes the mail: the message row
  commits with the change or not at all (no mail about a password change that rolled back, no
  change without its mail).
- The message is stored as a template name, a locale and parameters, and rendered when it is
  sent (``templates``): links are built from ``AMANAH_BASE_URL`` then, so services need no
  settings. Rendered subject and bodies are kept on the row once sent (test mode lists them).
- The sender job ``mail.deliver`` (``jobs``) claims due messages in a short transaction (``FOR
  UPDATE SKIP LOCKED`` on PostgreSQL, so several workers never claim the same row; a lease lets
  another worker take over a message whose sender died), sends each one outside any
  transaction, and records the outcome: sent, or a retry later with doubling back-off, or
  failed after ``MAIL_ATTEMPTS_MAX`` tries or a permanent refusal. Delivery is at least once.
- ``transport`` sends through SMTP when ``AMANAH_SMTP_URL`` is set (``smtp://``,
  ``smtp+starttls://``, ``smtps://``) and otherwise writes ``.eml`` files under
  ``$AMANAH_DATA_DIR/mail``, which any mail program opens.

Rendered messages contain single-use links (password resets): the outbox is as sensitive as
the tokens table, and nothing here logs a body.
"""

from amanah.mail.service import SentMail, enqueue, list_sent

__all__ = ["SentMail", "enqueue", "list_sent"]
