"""HTTP sessions for connectors that reach only the hosts a channel is configured for.

Every request is checked before it is sent: the host must be one of the channel's hosts, and
its addresses must be public unless an admin allowed private ones for this channel (a local
Mastodon, a test fake). The check is made twice, and the second one is the one that counts:
`Session.send` checks the URL early (a clear error before anything happens), and the connection
itself resolves the name once, vets every address and connects to one of exactly those
(`connectors.pinned_http`), so a name that answers differently a moment later (DNS rebinding)
reaches nothing it may not. Requests go only through `GuardedAdapter`s bound to the session's
policy, never through a proxy (a proxy would resolve the name where no check can see it).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter

from .addresses import AddressPolicy, HostNotAllowed, is_non_public, is_private_address
from .pinned_http import GuardedAdapter

__all__ = ["DEFAULT_TIMEOUT", "GuardedAdapter", "GuardedSession", "HostNotAllowed", "guarded_session",
           "is_non_public", "is_private_address"]

DEFAULT_TIMEOUT = 20


class GuardedSession(requests.Session):
    def __init__(self, allowed_hosts: Iterable[str], allow_private: bool = False,
                 timeout: float = DEFAULT_TIMEOUT):
        self.policy = AddressPolicy.of(allowed_hosts, allow_private)
        super().__init__()
        # No proxies from the environment and no .netrc passwords for channel hosts; a CA bundle
        # named the usual way (a local Mastodon with its own CA) is still honoured.
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
            adapter.bind(self.policy)
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


def guarded_session(urls_or_hosts: Iterable[str], allow_private: bool = False) -> GuardedSession:
    """A session for the given base URLs or host names."""
    hosts = [urlsplit(u).hostname if "://" in u else u for u in urls_or_hosts]
    return GuardedSession([h for h in hosts if h], allow_private=allow_private)
