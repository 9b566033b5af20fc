"""Which addresses a channel may connect to, decided on the very lookup the connection then uses.

Checking a host name and then letting the HTTP client look the name up again to connect leaves a
gap: a name whose DNS an attacker controls can answer a public address to the check and 127.0.0.1
(or a cloud metadata address) to the connection a moment later. So an `AddressPolicy` resolves a
name once, refuses the answer if any address in it is not public (unless an admin allowed private
addresses for the channel), and hands back exactly those addresses for the connection to use.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
AddrInfo = tuple[socket.AddressFamily, socket.SocketKind, int, str, tuple]
NAT64 = ipaddress.ip_network("64:ff9b::/96")  # the well-known prefix: the last 32 bits are an IPv4 address


class HostNotAllowed(requests.exceptions.InvalidURL):
    """A connector tried to reach a host outside its channel's configuration."""


class AddressRefused(Exception):  # noqa: N818 - it reads as what happened, like HostNotAllowed
    """Raised while connecting: the name resolved to an address the channel may not reach.

    Deliberately not an OSError: HTTP clients take OSErrors for network trouble and retry them or
    wrap them into "connection failed", and this is a refusal, not a failure.
    """


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries and leads to: IPv4-mapped (::ffff:a.b.c.d), 6to4
    (2002:aabb:ccdd::) or NAT64 (64:ff9b::a.b.c.d)."""
    if address.version != 6:
        return None
    if address.ipv4_mapped or address.sixtofour:
        return address.ipv4_mapped or address.sixtofour
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_non_public(address: IPAddress) -> bool:
    """Not an address of the public internet: loopback, private, link-local, reserved, multicast,
    unspecified, or any other range IANA marks as not global (100.64.0.0/10, shared by carriers
    and used for cloud metadata services, is one), also when it hides in an IPv6 form."""
    if (not address.is_global or address.is_private or address.is_loopback or address.is_link_local
            or address.is_reserved or address.is_multicast or address.is_unspecified):
        return True
    embedded = _embedded_ipv4(address)
    return embedded is not None and is_non_public(embedded)


def _ip_of(info: AddrInfo) -> IPAddress:
    return ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])  # fe80::1%eth0: the scope is no part of it


def _lookup(host: str, port: int | None, family: int = 0) -> list[AddrInfo]:
    """One getaddrinfo for a stream connection. ValueError for a name no lookup could take
    (`a..b`, a label over 63 characters); socket.gaierror for a name that does not resolve."""
    try:
        return socket.getaddrinfo(host.strip("[]"), port, family, socket.SOCK_STREAM)  # "[::1]": as URLs write it
    except UnicodeError as err:  # from the IDNA encoding of the name
        raise ValueError(f"{host!r} is not a valid host name ({err})") from None


def is_private_address(host: str) -> bool:
    """True if any address the host resolves to is not public (`is_non_public`).
    ValueError for a name no lookup could take (`a..b`, a label over 63 characters)."""
    try:
        infos = _lookup(host, None)
    except socket.gaierror:
        return False  # unresolvable: the request itself will fail
    return any(is_non_public(_ip_of(info)) for info in infos)


@dataclass(frozen=True)
class AddressPolicy:
    """The hosts one channel may reach, and whether an admin allowed private addresses for it."""

    allowed_hosts: frozenset[str]
    allow_private: bool = False

    @classmethod
    def of(cls, hosts: Iterable[str], allow_private: bool = False) -> AddressPolicy:
        return cls(frozenset(h.lower() for h in hosts if h), allow_private)

    def _allows(self, host: str) -> bool:
        """One of the channel's hosts, however written: `[::1]` or `::1`, `name.` or `name`."""
        def bare(name: str) -> str:
            return name.strip("[]").rstrip(".").lower()
        return bare(host) in {bare(h) for h in self.allowed_hosts}

    def check_host(self, url: str) -> str:
        """The URL's host, if it is one of the channel's hosts; HostNotAllowed otherwise."""
        host = (urlsplit(url).hostname or "").lower()
        if host not in self.allowed_hosts:
            raise HostNotAllowed(f"{host or url!r} is not a host of this channel")
        return host

    def check_url(self, url: str) -> None:
        """Early and readable: the host is the channel's, and its addresses are public now. The
        connection checks again, on the lookup it connects with (`resolve`)."""
        self.check_name(self.check_host(url))

    def check_name(self, host: str) -> None:
        """`check_url` for a bare host name (an SMTP server)."""
        if not self._allows(host):
            raise HostNotAllowed(f"{host!r} is not a host of this channel")
        if not self.allow_private and is_private_address(host):
            raise HostNotAllowed(f"{host} resolves to a private address; an admin must allow it")

    def resolve(self, host: str, port: int | None, family: int = 0) -> list[AddrInfo]:
        """The addresses to connect to for `host`, from one lookup, all of them vetted.

        AddressRefused if the host is not the channel's or any address is not public (one private
        address in the answer refuses the whole answer: which one a client tries first is not ours
        to decide); socket.gaierror if the name does not resolve.
        """
        if not self._allows(host):
            raise AddressRefused(f"{host!r} is not a host of this channel")
        try:
            infos = _lookup(host, port, family)
        except ValueError as err:
            raise AddressRefused(str(err)) from None
        if not self.allow_private:
            private = sorted({str(_ip_of(info)) for info in infos if is_non_public(_ip_of(info))})
            if private:
                raise AddressRefused(f"{host} resolves to a private address ({', '.join(private)}); "
                                     "an admin must allow it")
        return infos
