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


def is_private_address(host: str) -> bool:
    """True if any address the host resolves to is loopback, private, link-local or reserved.
    ValueError for a name no lookup could take (`a..b`, a label over 63 characters)."""
    try:
        infos = socket.getaddrinfo(host.strip("[]"), None)  # "[::1]": an IPv6 literal as URLs write it
    except socket.gaierror:
        return False  # unresolvable: the request itself will fail
    except UnicodeError as err:  # from the IDNA encoding of the name
        raise ValueError(f"{host!r} is not a valid host name ({err})") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if (address.is_private or address.is_loopback or address.is_link_local or address.is_reserved
                or address.is_multicast or address.is_unspecified):
            return True
    return False


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
