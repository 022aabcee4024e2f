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
