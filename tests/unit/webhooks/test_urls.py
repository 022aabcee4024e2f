"""Which webhook URLs are accepted, and which addresses count as public."""

from __future__ import annotations

import ipaddress

import pytest

from amanah.core.errors import InvalidRequest
from amanah.platforms.webhooks import urls
from amanah.platforms.webhooks.delivery import _pinned


class TestPublicAddresses:
    @pytest.mark.parametrize("address", ["93.184.215.14", "1.1.1.1", "2606:4700:4700::1111"])
    def test_global_unicast_addresses_are_public(self, address):
        assert urls.is_public(ipaddress.ip_address(address))

    @pytest.mark.parametrize("address", [
        "127.0.0.1", "10.0.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
        "224.0.0.1", "255.255.255.255", "::1", "fe80::1", "fc00::1", "::ffff:10.0.0.1", "::", "ff02::1",
    ])
    def test_loopback_private_link_local_shared_and_multicast_are_not(self, address):
        assert not urls.is_public(ipaddress.ip_address(address))


class TestParsing:
    def test_the_default_port_follows_the_scheme(self):
        assert urls.parse("https://shop.example/hooks?a=1") == urls.Target("https", "shop.example", 443, "/hooks?a=1")
        assert urls.parse("http://shop.example").port == 80

    @pytest.mark.parametrize("url", ["gopher://x.example/", "//x.example/", "http:///path", "https://a:b@x.example/",
                                     "https://x.example:0x50/", "https://x.example/" + "a" * 2100])
    def test_bad_urls_are_refused_naming_the_url(self, url):
        with pytest.raises(InvalidRequest) as refused:
            urls.parse(url)
        assert refused.value.param == "url"


class TestPinnedConnection:
    def test_the_connection_goes_to_the_checked_address_with_the_host_name_in_host(self):
        target = urls.parse("https://shop.example/hooks")
        assert _pinned(target, ipaddress.ip_address("93.184.215.14")) == (
            "https://93.184.215.14:443/hooks", "shop.example")

    def test_ipv6_addresses_and_other_ports_are_written_correctly(self):
        target = urls.parse("http://shop.example:8080/h")
        assert _pinned(target, ipaddress.ip_address("2001:db8::1")) == ("http://[2001:db8::1]:8080/h", "shop.example:8080")


# IPv6 forms that carry an IPv4 address (issue 28): each judged by the IPv4 it leads to.
CARRYING_A_PRIVATE_IPV4 = {
    "IPv4-mapped loopback": "::ffff:127.0.0.1",
    "IPv4-mapped metadata": "::ffff:169.254.169.254",
    "IPv4-compatible loopback": "::127.0.0.1",
    "IPv4-compatible private": "::10.1.2.3",
    "6to4 of loopback": "2002:7f00:1::",
    "6to4 of a private network": "2002:c0a8:101::1",
    "6to4 of the metadata address": "2002:a9fe:a9fe::",
    "NAT64 of loopback": "64:ff9b::7f00:1",
    "NAT64 of the metadata address": "64:ff9b::a9fe:a9fe",
    "NAT64 of a private network": "64:ff9b::a00:1",
    "local NAT64, /48 layout, of loopback": "64:ff9b:1:7f00:0:100::",
    "local NAT64, /96 layout, of loopback": "64:ff9b:1::7f00:1",
    "Teredo with a loopback client": "2001:0:4136:e378:8000:63bf:80ff:fffe",
    "Teredo with a private server": "2001:0:a00:1:8000:63bf:f7f7:f7f7",
}


class TestIPv6FormsCarryingIPv4:
    @pytest.mark.parametrize("address", CARRYING_A_PRIVATE_IPV4.values(), ids=CARRYING_A_PRIVATE_IPV4.keys())
    def test_a_form_that_leads_to_a_private_ipv4_is_not_public(self, address):
        assert not urls.is_public(ipaddress.ip_address(address))

    @pytest.mark.parametrize("address, carried", [
        ("::ffff:127.0.0.1", ["127.0.0.1"]), ("::127.0.0.1", ["127.0.0.1"]), ("2002:7f00:1::", ["127.0.0.1"]),
        ("64:ff9b::a9fe:a9fe", ["169.254.169.254"]), ("64:ff9b:1:7f00:0:100::", ["0.0.0.0", "127.0.0.1"]),
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", ["65.54.227.120", "127.0.0.1"]),
    ])
    def test_the_embedded_ipv4_is_found_in_each_layout(self, address, carried):
        assert urls.embedded_ipv4(ipaddress.ip_address(address)) == [ipaddress.ip_address(a) for a in carried]

    @pytest.mark.parametrize("address", ["64:ff9b::808:808", "2002:808:808::1", "::ffff:8.8.8.8"])
    def test_a_translation_to_a_public_ipv4_stays_public(self, address):
        assert urls.is_public(ipaddress.ip_address(address))

    @pytest.mark.parametrize("address", ["2001:0:4136:e378:8000:63bf:f7f7:f7f7", "64:ff9b:1::808:808"])
    def test_teredo_and_the_local_nat64_prefix_are_never_public(self, address):
        assert not urls.is_public(ipaddress.ip_address(address))

    @pytest.mark.parametrize("address", CARRYING_A_PRIVATE_IPV4.values(), ids=CARRYING_A_PRIVATE_IPV4.keys())
    def test_a_literal_in_the_url_is_refused(self, address):
        with pytest.raises(InvalidRequest) as refused:
            urls.check(f"https://[{address}]/hooks", allow_private=False)
        assert refused.value.code == "webhook_url_private" and refused.value.param == "url"

    @pytest.mark.parametrize("address", CARRYING_A_PRIVATE_IPV4.values(), ids=CARRYING_A_PRIVATE_IPV4.keys())
    def test_a_name_that_resolves_to_one_is_refused(self, address, monkeypatch):
        answer_with(monkeypatch, "hooks.shop.example", [address, "93.184.215.14"])
        with pytest.raises(InvalidRequest) as refused:
            urls.check("https://hooks.shop.example/hooks", allow_private=False)
        assert refused.value.code == "webhook_url_private" and str(ipaddress.ip_address(address)) in refused.value.message

    def test_the_same_name_resolving_to_a_public_address_is_accepted(self, monkeypatch):
        answer_with(monkeypatch, "hooks.shop.example", ["64:ff9b::5db8:d70e", "93.184.215.14"])
        assert urls.check("https://hooks.shop.example/hooks", allow_private=False) == "https://hooks.shop.example/hooks"


def answer_with(monkeypatch, name: str, addresses: list[str]) -> None:
    """The operating system's resolver (not our code) answering ``name`` with ``addresses``:
    a DNS server we do not control could give any of them."""
    import socket

    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host != name:
            return real(host, port, *args, **kwargs)
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                 (a, port, 0, 0) if ":" in a else (a, port)) for a in addresses]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


class TestDeliveryRefusesTheSameForms:
    """A name checked when the endpoint was created can resolve to anything later (DNS rebinding):
    delivery judges every answer again, and a refused one is never connected to."""

    @pytest.mark.parametrize("address", ["::ffff:127.0.0.1", "64:ff9b::7f00:1", "2002:7f00:1::", "::127.0.0.1"])
    def test_a_name_that_now_resolves_to_a_loopback_form_is_not_called(self, address, monkeypatch):
        from tests.integration.webhooks.receiver import start_receiver

        from amanah.platforms.webhooks import delivery
        from amanah.platforms.webhooks.outbox import Claimed

        secret = "whsec_" + "QUJD" * 8
        receiver = start_receiver()
        receiver.secret = secret
        try:
            port = receiver.server.server_address[1]
            answer_with(monkeypatch, "hooks.shop.example", [address])
            claimed = Claimed("whd_1", 1, "whe_1", f"http://hooks.shop.example:{port}/hooks", secret,
                              "evt_1", "{}")
            with delivery.new_client() as client:
                outcome = delivery.send(client, claimed, allow_private=False)
            assert outcome.status_code is None and "not a public address" in outcome.error
            assert receiver.received == []
            # The same answer with private targets allowed reaches the receiver (IPv4-mapped
            # loopback is a real way to 127.0.0.1), so the refusal above is what stopped it.
            if address == "::ffff:127.0.0.1":
                with delivery.new_client() as client:
                    reached = delivery.send(client, claimed, allow_private=True)
                assert reached.status_code == 200 and len(receiver.accepted()) == 1
        finally:
            receiver.server.shutdown()
