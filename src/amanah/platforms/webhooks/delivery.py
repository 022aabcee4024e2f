"""Sending one delivery over HTTP, signed per Standard Webhooks (the ``standardwebhooks`` library).

Called outside any database transaction. The connection goes to the address that was just
checked to be public (``urls.resolve``), with the URL's host name in ``Host`` and, over TLS, as
the SNI and certificate name, so a DNS answer cannot change between the check and the connect.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone

import httpx
from standardwebhooks.webhooks import Webhook

from amanah.core import limits
from amanah.core.errors import AppError
from amanah.platforms.webhooks import urls
from amanah.platforms.webhooks.outbox import Claimed, Outcome

USER_AGENT = "Amanah-Webhooks/1"


def new_client() -> httpx.Client:
    # No proxies from the environment: a proxy would connect to a host we did not check.
    return httpx.Client(timeout=limits.WEBHOOK_TIMEOUT_S, follow_redirects=False, trust_env=False)


def signed_headers(claimed: Claimed, signed_at: datetime) -> dict[str, str]:
    return {
        "webhook-id": claimed.event_id,
        "webhook-timestamp": str(math.floor(signed_at.timestamp())),
        "webhook-signature": Webhook(claimed.secret).sign(claimed.event_id, signed_at, claimed.payload),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


def _pinned(target: urls.Target, address: urls.IPAddress) -> tuple[str, str]:
    """(the URL with the address in place of the host, the ``Host`` header)."""
    literal = f"[{address}]" if address.version == 6 else str(address)
    name = f"[{target.host}]" if ":" in target.host else target.host
    default_port = 443 if target.scheme == "https" else 80
    host_header = name if target.port == default_port else f"{name}:{target.port}"
    return f"{target.scheme}://{literal}:{target.port}{target.path_and_query}", host_header


def send(client: httpx.Client, claimed: Claimed, *, allow_private: bool) -> Outcome:
    """One attempt; never raises for anything the network or the receiver does."""
    try:
        target = urls.parse(claimed.url)
        addresses = urls.resolve(target, allow_private=allow_private)
    except AppError as error:
        return Outcome(None, error.message)
    # The signature's timestamp is real time, not the (test) server clock: receivers check it
    # against their own clock to refuse replays older than a few minutes.
    headers = signed_headers(claimed, datetime.now(timezone.utc))
    outcome = Outcome(None, "The host has no address.")
    for address in addresses[:limits.WEBHOOK_ADDRESSES_TRIED_MAX]:
        outcome = _post(client, target, address, claimed.payload, headers)
        if outcome.error is None or not outcome.error.startswith("ConnectError"):
            break  # only a refused connection is worth trying the host's next address for
    return outcome


def _post(client: httpx.Client, target: urls.Target, address: urls.IPAddress, payload: str,
          headers: dict[str, str]) -> Outcome:
    url, host_header = _pinned(target, address)
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    try:
        request = client.build_request("POST", url, content=payload.encode("utf-8"),
                                       headers={**headers, "host": host_header}, extensions=extensions)
        response = client.send(request, stream=True)  # the body is read only to explain a failure
        try:
            return Outcome(response.status_code, None if response.is_success else _describe(response))
        finally:
            response.close()
    except (httpx.HTTPError, httpx.InvalidURL, OSError) as error:
        return Outcome(None, f"{type(error).__name__}: {error}"[:500])


def _describe(response: httpx.Response) -> str:
    """``HTTP 500: <the start of the body>`` (read no further than we keep)."""
    start = b""
    for chunk in response.iter_bytes():
        start += chunk
        if len(start) >= limits.WEBHOOK_RESPONSE_BYTES_READ_MAX:
            break
    text = start[:limits.WEBHOOK_RESPONSE_BYTES_READ_MAX].decode("utf-8", "replace").strip()
    return f"HTTP {response.status_code}" + (f": {text[:400]}" if text else "")
