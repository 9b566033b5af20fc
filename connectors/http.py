"""HTTP sessions for connectors that reach only the hosts a channel is configured for.

Every request is checked before it is sent: the host must be one of the channel's hosts, and
its addresses must be public unless an admin allowed private ones for this channel (a local
Mastodon, a test fake). This holds for every adapter mounted on the session, since the check
runs in `Session.send`.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

import requests

DEFAULT_TIMEOUT = 20


class HostNotAllowed(requests.exceptions.InvalidURL):
    """A connector tried to reach a host outside its channel's configuration."""


NAT64 = ipaddress.ip_network("64:ff9b::/96")  # the well-known prefix: the last 32 bits are an IPv4 address


def _embedded_ipv4(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries and leads to: IPv4-mapped (::ffff:a.b.c.d), 6to4
    (2002:aabb:ccdd::) or NAT64 (64:ff9b::a.b.c.d)."""
    if address.version != 6:
        return None
    if address.ipv4_mapped or address.sixtofour:
        return address.ipv4_mapped or address.sixtofour
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_non_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Not an address of the public internet: loopback, private, link-local, reserved, multicast,
    unspecified, or any other range IANA marks as not global (100.64.0.0/10, shared by carriers
    and used for cloud metadata services, is one), also when it hides in an IPv6 form."""
    if (not address.is_global or address.is_private or address.is_loopback or address.is_link_local
            or address.is_reserved or address.is_multicast or address.is_unspecified):
        return True
    embedded = _embedded_ipv4(address)
    return embedded is not None and is_non_public(embedded)


def is_private_address(host: str) -> bool:
    """True if any address the host resolves to is not public (`is_non_public`).
    ValueError for a name no lookup could take (`a..b`, a label over 63 characters)."""
    try:
        infos = socket.getaddrinfo(host.strip("[]"), None)  # "[::1]": an IPv6 literal as URLs write it
    except socket.gaierror:
        return False  # unresolvable: the request itself will fail
    except UnicodeError as err:  # from the IDNA encoding of the name
        raise ValueError(f"{host!r} is not a valid host name ({err})") from None
    return any(is_non_public(ipaddress.ip_address(info[4][0].split("%", 1)[0])) for info in infos)


class GuardedSession(requests.Session):
    def __init__(self, allowed_hosts: Iterable[str], allow_private: bool = False,
                 timeout: float = DEFAULT_TIMEOUT):
        super().__init__()
        self.allowed_hosts = {h.lower() for h in allowed_hosts}
        self.allow_private = allow_private
        self.timeout = timeout

    def check(self, url: str) -> None:
        host = (urlsplit(url).hostname or "").lower()
        if host not in self.allowed_hosts:
            raise HostNotAllowed(f"{host or url!r} is not a host of this channel")
        if not self.allow_private and is_private_address(host):
            raise HostNotAllowed(f"{host} resolves to a private address; an admin must allow it")

    def send(self, request, **kwargs):
        self.check(request.url)
        kwargs.setdefault("timeout", self.timeout)
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


def guarded_session(urls_or_hosts: Iterable[str], allow_private: bool = False) -> GuardedSession:
    """A session for the given base URLs or host names."""
    hosts = [urlsplit(u).hostname if "://" in u else u for u in urls_or_hosts]
    return GuardedSession([h for h in hosts if h], allow_private=allow_private)
