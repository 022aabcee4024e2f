"""Which webhook URLs we will call: http(s) to public addresses only (no SSRF into our network).

The host is resolved and every address it resolves to must be public; delivery resolves again
and connects to the checked address itself, so a DNS answer that changes between the check and
the connection (DNS rebinding) cannot point us at a private one.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from amanah.core import limits
from amanah.core.errors import InvalidRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Target:
    """A parsed URL: ``host`` is a name or an address literal (without brackets)."""

    scheme: str
    host: str
    port: int
    path_and_query: str


def parse(url: str) -> Target:
    """The URL's parts, or a 400 naming what is wrong."""
    if len(url) > limits.WEBHOOK_URL_LENGTH_MAX:
        raise _bad(f"The URL is longer than {limits.WEBHOOK_URL_LENGTH_MAX} characters.")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as error:
        raise _bad(f"The URL is not valid: {error}.") from error
    if parts.scheme not in ("http", "https"):
        raise _bad("The URL must start with https:// (or http://).")
    if not parts.hostname:
        raise _bad("The URL has no host name.")
    if parts.username or parts.password:
        raise _bad("The URL must not carry a user name or password; authenticate by the signature.")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path)


def resolve(target: Target, *, allow_private: bool) -> list[IPAddress]:
    """The addresses to connect to; refused (400) when any of them is not public."""
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise _bad(f"The host {target.host} could not be resolved.", code="webhook_url_unresolvable") from error
    addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos))
    if not allow_private:
        # Any private answer refuses the host: we must not depend on which answer is used.
        for address in addresses:
            if not is_public(address):
                raise _bad(f"The host {target.host} resolves to {address}, which is not a public "
                           "address; webhooks go to public addresses only.", code="webhook_url_private")
    return addresses


def is_public(address: IPAddress) -> bool:
    """Globally routable unicast: not loopback, private, link-local, shared, reserved or multicast."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def check(url: str, *, allow_private: bool) -> str:
    """The URL, trimmed, if we may call it; a 400 otherwise."""
    resolve(parse(url), allow_private=allow_private)
    return url.strip()


def _bad(message: str, code: str = "invalid_webhook_url") -> InvalidRequest:
    return InvalidRequest(message, code=code, param="url")
