"""A requests transport adapter whose connections go to the addresses its channel's policy vetted.

urllib3 would look the host name up again when it opens a socket, after our check looked at it
(DNS rebinding). Here the connection asks the `AddressPolicy` instead: one lookup, every address
vetted, and the socket opened to one of exactly those addresses. Everything else stays on the real
host name: the Host header, TLS SNI and certificate verification, because only the socket's
destination is swapped while it is being opened.

Through the admin's outbound proxy (`OutboundProxy`) there is no socket to the host to pin: the
proxy opens it, after its own lookup. The proxy's address is the admin's choice (private, as a
rule) and is connected to as it is; the request's host is checked as ever and its addresses are
vetted on a local lookup just before the request is handed to the proxy, which is the best that can
be done here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from requests.adapters import HTTPAdapter
from requests.utils import select_proxy
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool, PoolManager
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from .addresses import AddressPolicy, AddressRefused, HostNotAllowed

if TYPE_CHECKING:  # connectors.http defines it and imports this module
    from .http import OutboundProxy


class _PinnedConnection(HTTPConnection):
    """Connects to an address its policy resolved and vetted, never to a fresh lookup of the name."""

    def __init__(self, *args: Any, address_policy: AddressPolicy | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.address_policy = address_policy

    def _new_conn(self) -> Any:
        if self.address_policy is None:  # fail closed: a pool that was never given a policy
            raise AddressRefused(f"no address policy for {self.host}")
        name = self._dns_host
        try:
            infos = self.address_policy.resolve(name, self.port)
        except OSError as err:  # socket.gaierror: as urllib3 reports a name that does not resolve
            raise NameResolutionError(self.host, self, err) from err  # type: ignore[arg-type]
        error: Exception | None = None
        for address in dict.fromkeys(str(info[4][0]) for info in infos):  # each address once, in DNS order
            self._dns_host = address  # only while the socket is opened; TLS and Host use the name again
            try:
                return super()._new_conn()
            except (NewConnectionError, ConnectTimeoutError) as err:
                error = err
            finally:
                self._dns_host = name
        raise error or NewConnectionError(self, f"{name} resolved to no address")


class _PinnedHTTPSConnection(_PinnedConnection, HTTPSConnection):
    pass


class _PinnedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _PinnedConnection


class _PinnedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _PinnedHTTPSConnection


class _PinnedPoolManager(PoolManager):
    """Pools whose connections carry the adapter's policy (read when a pool is made)."""

    def __init__(self, adapter: GuardedAdapter, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.adapter = adapter
        self.pool_classes_by_scheme = {"http": _PinnedHTTPPool, "https": _PinnedHTTPSPool}

    def _new_pool(self, scheme: str, host: str, port: int, request_context: dict | None = None) -> Any:
        pool = super()._new_pool(scheme, host, port, request_context)
        pool.conn_kw["address_policy"] = self.adapter.address_policy
        return pool


class GuardedAdapter(HTTPAdapter):
    """The only kind of adapter a GuardedSession sends through. Subclasses may re-address a
    request in `send` (an API gateway, a test fake) before calling this `send`: the URL that
    leaves is the one checked, against the same policy."""

    address_policy: AddressPolicy | None = None
    proxy: OutboundProxy | None = None

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any) -> None:
        self._pool_connections, self._pool_maxsize, self._pool_block = connections, maxsize, block
        self.poolmanager = _PinnedPoolManager(self, num_pools=connections, maxsize=maxsize, block=block,
                                              **pool_kwargs)

    def bind(self, policy: AddressPolicy, proxy: OutboundProxy | None = None) -> None:
        """Use the policy (and outbound proxy) of the session this adapter is mounted on (one
        session per adapter)."""
        if self.address_policy is not None and self.address_policy is not policy:
            raise ValueError("this adapter is mounted on another channel's session already")
        self.address_policy, self.proxy = policy, proxy

    def send(self, request: Any, stream: bool = False, timeout: Any = None, verify: Any = True, cert: Any = None,
             proxies: Any = None) -> Any:
        if self.address_policy is None:
            raise HostNotAllowed("the adapter is not mounted on a channel's session")
        if select_proxy(request.url, proxies):
            raise HostNotAllowed("connectors use no proxy but the server's PROCESSCAFE_OUTBOUND_PROXY: through "
                                 "another the host name would be resolved where no address check sees it")
        if self.proxy is None:
            self.address_policy.check_host(request.url)  # the connection vets the addresses it uses
        else:
            self.address_policy.check_url(request.url)  # the proxy connects: vet a local lookup now
            proxies = {"http": self.proxy.url, "https": self.proxy.url}
        try:
            return super().send(request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies)
        except AddressRefused as err:
            raise HostNotAllowed(str(err)) from None
