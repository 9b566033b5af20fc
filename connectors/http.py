"""HTTP sessions for connectors that reach only the hosts a channel is configured for.

Every request is checked before it is sent: the host must be one of the channel's hosts, and
its addresses must be public unless an admin allowed private ones for this channel (a local
Mastodon, a test fake). The check is made twice, and the second one is the one that counts:
`Session.send` checks the URL early (a clear error before anything happens), and the connection
itself resolves the name once, vets every address and connects to one of exactly those
(`connectors.pinned_http`), so a name that answers differently a moment later (DNS rebinding)
reaches nothing it may not. Requests go only through `GuardedAdapter`s bound to the session's
policy, and through no proxy but the one an admin configured (`OutboundProxy`, the server setting
PROCESSCAFE_OUTBOUND_PROXY): a proxy resolves the name where no check can see it, so with one the
local check is best effort and the proxy is responsible for keeping connectors out of internal
addresses.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import requests
from requests.adapters import BaseAdapter

from .addresses import AddressPolicy, HostNotAllowed, is_non_public, is_private_address
from .pinned_http import GuardedAdapter

__all__ = ["DEFAULT_TIMEOUT", "GuardedAdapter", "GuardedSession", "HostNotAllowed", "OutboundProxy",
           "guarded_session", "is_non_public", "is_private_address"]

DEFAULT_TIMEOUT = 20


@dataclass(frozen=True, repr=False)
class OutboundProxy:
    """The HTTP CONNECT proxy an admin named for all of the connectors' HTTP traffic (an egress
    proxy), with its credentials, if any. Its repr and `address` never show the credentials, so
    settings and errors that mention it can be logged."""

    scheme: str
    host: str
    port: int
    username: str = ""
    password: str = ""

    @classmethod
    def from_url(cls, url: str) -> OutboundProxy:
        """Parse `http(s)://[user:password@]host[:port]`. ValueError saying what is wrong, in
        words that never repeat the URL (it may carry a password)."""
        try:
            parts = urlsplit(url.strip())
            port = parts.port
        except ValueError:
            raise ValueError("it is not a valid URL with a port of 1-65535") from None
        if parts.scheme.lower() not in ("http", "https"):
            raise ValueError("it must start with http:// or https:// (an HTTP CONNECT proxy)")
        if not parts.hostname:
            raise ValueError("it names no host")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError("it must be only scheme, host and port, without a path, query or fragment")
        scheme = parts.scheme.lower()
        return cls(scheme, parts.hostname, port or (443 if scheme == "https" else 80),
                   unquote(parts.username or ""), unquote(parts.password or ""))

    @property
    def address(self) -> str:
        """The proxy's URL without credentials: what may be shown and logged."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    @property
    def url(self) -> str:
        """The proxy's URL with its credentials, for the HTTP client only."""
        if not (self.username or self.password):
            return self.address
        credentials = f"{quote(self.username, safe='')}:{quote(self.password, safe='')}@"
        return self.address.replace("://", f"://{credentials}", 1)

    def __repr__(self) -> str:
        return f"OutboundProxy({self.address}{' with credentials' if self.username or self.password else ''})"

    __str__ = __repr__


class GuardedSession(requests.Session):
    """A channel's session. With a `proxy`, every request goes through it (see the module's doc)."""

    def __init__(self, allowed_hosts: Iterable[str], allow_private: bool = False,
                 timeout: float = DEFAULT_TIMEOUT, proxy: OutboundProxy | None = None):
        self.policy = AddressPolicy.of(allowed_hosts, allow_private)
        self.proxy = proxy
        super().__init__()
        # No proxies from the environment (only the admin's `proxy` counts) and no .netrc
        # passwords for channel hosts; a CA bundle named the usual way (a local Mastodon with its
        # own CA) is still honoured.
        self.trust_env = False
        self.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        self.mount("https://", GuardedAdapter())
        self.mount("http://", GuardedAdapter())
        self.timeout = timeout

    @property
    def allowed_hosts(self) -> frozenset[str]:
        return self.policy.allowed_hosts

    @property
    def allow_private(self) -> bool:
        return self.policy.allow_private

    def check(self, url: str) -> None:
        self.policy.check_url(url)

    def mount(self, prefix: str, adapter: BaseAdapter) -> None:
        if isinstance(adapter, GuardedAdapter):
            adapter.bind(self.policy, self.proxy)
        super().mount(prefix, adapter)

    def get_adapter(self, url: str) -> BaseAdapter:
        """Only an adapter bound to this session's policy may send: any other would open its
        connections without the address check."""
        adapter = super().get_adapter(url)
        if not isinstance(adapter, GuardedAdapter) or adapter.address_policy is not self.policy:
            raise HostNotAllowed(f"{type(adapter).__name__} does not check addresses; mount a GuardedAdapter")
        return adapter

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.check(request.url or "")
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


def guarded_session(urls_or_hosts: Iterable[str], allow_private: bool = False,
                    proxy: OutboundProxy | None = None) -> GuardedSession:
    """A session for the given base URLs or host names (through `proxy`, if one is given)."""
    hosts = [urlsplit(u).hostname if "://" in u else u for u in urls_or_hosts]
    return GuardedSession([h for h in hosts if h], allow_private=allow_private, proxy=proxy)
