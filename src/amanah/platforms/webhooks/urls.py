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


# IPv6 forms that carry an IPv4 address a router or a translator may deliver to: the embedded
# IPv4 is what we would really reach, so it is the one judged. ``ipaddress`` calls many of these
# "global" (64:ff9b::/96 is global by RFC 6052, and 2002::/16 takes 6to4 relays at their word).
_NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")
_TEREDO = ipaddress.IPv6Network("2001::/32")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address leads to: IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible
    (::a.b.c.d), NAT64 (64:ff9b::/96, and 64:ff9b:1::/48 in any of RFC 6052's layouts: the
    low 32 bits), 6to4 (2002:AABB:CCDD::) and Teredo (2001:0:SSSS:SSSS:…: the server, and the
    client, stored inverted in the low 32 bits). Empty for any other IPv6 address."""
    value = int(address)
    low32 = ipaddress.IPv4Address(value & 0xFFFFFFFF)
    if address.ipv4_mapped is not None:
        return [address.ipv4_mapped]
    if address in _IPV4_COMPATIBLE:
        return [low32] if value > 1 else []  # :: and ::1 are judged as themselves
    if address in _NAT64_WELL_KNOWN:
        return [low32]
    if address in _NAT64_LOCAL:
        # RFC 6052's /48 layout: the IPv4's first half in bits 48..63, the u octet (bits 64..71),
        # its second half in bits 72..87. The /96 layout (at the end) is judged as well.
        middle = ipaddress.IPv4Address(((value >> 64) & 0xFFFF) << 16 | ((value >> 40) & 0xFFFF))
        return [low32, middle]
    if address in _SIX_TO_FOUR:
        return [address.sixtofour]
    if address in _TEREDO:
        server, client = address.teredo
        return [server, client]
    return []


def is_public(address: IPAddress) -> bool:
    """Globally routable unicast: not loopback, private, link-local, shared, reserved or multicast.
    An IPv6 address that carries an IPv4 one (``embedded_ipv4``) is public only when every IPv4
    it carries is too — and, for the tunnels and translators (NAT64, 6to4, Teredo), only when the
    IPv6 address is itself global (Teredo's 2001::/32 never is: a relay we do not choose)."""
    if isinstance(address, ipaddress.IPv6Address):
        carried = embedded_ipv4(address)
        if carried:
            if address in _NAT64_LOCAL or not all(_is_global_unicast(inner) for inner in carried):
                return False  # 64:ff9b:1::/48 is for use inside one network (RFC 8215)
            return address.ipv4_mapped is not None or address in _IPV4_COMPATIBLE or _is_global_unicast(address)
    return _is_global_unicast(address)


def _is_global_unicast(address: IPAddress) -> bool:
    return address.is_global and not address.is_multicast


def check(url: str, *, allow_private: bool) -> str:
    """The URL, trimmed, if we may call it; a 400 otherwise."""
    resolve(parse(url), allow_private=allow_private)
    return url.strip()


def _bad(message: str, code: str = "invalid_webhook_url") -> InvalidRequest:
    return InvalidRequest(message, code=code, param="url")
