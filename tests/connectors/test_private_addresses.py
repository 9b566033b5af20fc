"""Outbound HTTP reaches public addresses only, unless an admin allows private ones for a channel
(connectors/http.py). Private ranges hide in many spellings: carrier-grade NAT space (where some
clouds keep their metadata service), and IPv4 addresses inside IPv6 forms (mapped, 6to4, NAT64)
that a dual-stack host routes to the IPv4 address they carry."""

from __future__ import annotations

import pytest

from connectors.http import HostNotAllowed, guarded_session, is_private_address

NON_PUBLIC = [
    "127.0.0.1", "0.0.0.0", "10.0.0.1", "169.254.169.254", "192.168.1.1",
    "100.100.100.200",  # carrier-grade NAT space: a cloud's metadata service
    "100.64.0.1", "198.18.0.1", "240.0.0.1",
    "::1", "::", "::ffff:127.0.0.1", "::ffff:169.254.169.254", "fd00::1", "fe80::1",
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
    "2130706433", "0177.0.0.1", "0x7f.1",  # 127.0.0.1 written as one number, in octal, in hex
    "localhost",
]
PUBLIC = ["8.8.8.8", "1.1.1.1", "2001:4860:4860::8888", "2606:4700:4700::1111"]


@pytest.mark.parametrize("host", NON_PUBLIC)
def test_non_public_addresses_are_private(host):
    assert is_private_address(host)
    assert is_private_address(f"[{host}]") if ":" in host else True


@pytest.mark.parametrize("host", PUBLIC)
def test_public_addresses_are_not(host):
    assert not is_private_address(host)


@pytest.mark.parametrize("host", ["100.100.100.200", "64:ff9b::7f00:1", "2002:7f00:1::"])
def test_a_session_refuses_them_before_connecting(host):
    literal = f"[{host}]" if ":" in host else host
    session = guarded_session([f"http://{literal}/"])
    with pytest.raises(HostNotAllowed, match="private address"):
        session.get(f"http://{literal}/hook", timeout=1)
