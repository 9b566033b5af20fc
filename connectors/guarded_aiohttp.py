"""aiohttp sessions under a channel's GuardedSession rules, for client libraries built on aiohttp
(matrix-nio) that cannot be handed a requests session.

Two guards: trace hooks check every request and redirect URL with the session's `check` (the
channel's hosts; IP literals, which aiohttp never sends to a resolver), and the connector's
resolver is the channel's `AddressPolicy`, so aiohttp connects to the very addresses that were
vetted, never to a second lookup of the name (DNS rebinding). aiohttp keeps the host name for
TLS SNI and certificate verification.

With the admin's outbound proxy every request goes through it (CONNECT for https): aiohttp then
connects only to the proxy, whose address is the admin's choice and is not vetted, and the trace
hook's check is the local, best-effort vetting of the request's host (the proxy resolves it again).
"""

from __future__ import annotations

import asyncio
import socket
import warnings
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from .addresses import AddressPolicy
from .http import GuardedSession


class GuardedResolver(AbstractResolver):
    """Resolves through an AddressPolicy: AddressRefused (not an OSError, so aiohttp does not
    report it as a DNS failure) for a name that leads anywhere the channel may not go. The
    outbound proxy's host, if there is one, is looked up as it is: the admin named it."""

    def __init__(self, policy: AddressPolicy, proxy_host: str | None = None) -> None:
        self.policy = policy
        self.proxy_host = proxy_host
        self.plain: aiohttp.ThreadedResolver | None = None  # made on first use, in the event loop

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        if self.proxy_host is not None and host == self.proxy_host:
            self.plain = self.plain or aiohttp.ThreadedResolver()
            return await self.plain.resolve(host, port, family)
        infos = await asyncio.get_running_loop().run_in_executor(None, self.policy.resolve, host, port, family)
        flags = socket.AI_NUMERICHOST | socket.AI_NUMERICSERV
        return [ResolveResult(hostname=host, host=str(address[0]), port=int(address[1]), family=found,
                              proto=proto, flags=flags) for found, _, proto, _, address in infos]

    async def close(self) -> None:
        if self.plain is not None:
            await self.plain.close()


def guarded_client_session(http: GuardedSession, timeout: float) -> aiohttp.ClientSession:
    """An aiohttp session (made inside the running event loop) that reaches only what `http` may."""

    async def on_start(_s: Any, _c: Any, params: aiohttp.TraceRequestStartParams) -> None:
        http.check(str(params.url))

    async def on_redirect(_s: Any, _c: Any, params: aiohttp.TraceRequestRedirectParams) -> None:
        http.check(str(params.response.url.join(URL(params.response.headers.get("Location", "")))))

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_start)
    trace.on_request_redirect.append(on_redirect)
    proxy = http.proxy
    connector = aiohttp.TCPConnector(resolver=GuardedResolver(http.policy, proxy.host if proxy else None),
                                     use_dns_cache=False)
    # trust_env stays False: HTTP(S)_PROXY from the environment are not used, only the admin's proxy.
    # The proxy's credentials go apart from its URL (aiohttp's errors may show the URL). aiohttp
    # 3.14 deprecates `proxy_auth` for per-request `proxy_headers`, which a session cannot set for
    # the requests nio makes; until a session can, the deprecated parameter is the way.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        auth = aiohttp.BasicAuth(proxy.username, proxy.password) if proxy and (proxy.username or proxy.password) \
            else None
        return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=timeout),
                                     trace_configs=[trace], proxy=proxy.address if proxy else None, proxy_auth=auth)
