"""Webhooks: signed event notifications to a platform's endpoints (Standard Webhooks).

Design:

- **Outbox.** ``service.emit`` writes the event and one delivery per subscribed, enabled
  endpoint in the caller's transaction, so an event exists if and only if the change that
  caused it committed. Nothing is sent inside a transaction.
- **Delivery job** (``jobs.deliver_due``): claims due deliveries (``FOR UPDATE SKIP LOCKED`` on
  PostgreSQL, plus a lease so that a crashed worker's claim is taken again), sends them in
  parallel with httpx outside any transaction, then records each outcome. Delivery is at least
  once: a worker that dies after sending but before recording sends again.
- **Order per subject.** Deliveries to one endpoint about one subject (a trade) go strictly in
  the order they were emitted: a delivery is claimable only when no earlier delivery of that
  endpoint and subject is still pending (it succeeded or was given up). The caller must emit
  while holding the subject's row lock, which trades do, so emission order is commit order.
- **Retries.** Exponential back-off with jitter, about three days in all
  (``limits.WEBHOOK_*``); then the delivery is given up and the next one for the subject goes.
  An endpoint answering 410 Gone is disabled and its pending deliveries are given up.
- **Addresses.** Only http(s); hosts resolving to loopback, private, link-local or otherwise
  non-public addresses are refused unless ``AMANAH_WEBHOOK_ALLOW_PRIVATE``. The check is done
  again at every send, and the connection goes to the very address checked (no DNS rebinding).
- **Signing.** The ``standardwebhooks`` library's scheme: ``webhook-id`` (the event id, the same
  on every retry), ``webhook-timestamp``, ``webhook-signature`` (``v1,`` HMAC-SHA256 with the
  endpoint's ``whsec_`` secret).
"""
