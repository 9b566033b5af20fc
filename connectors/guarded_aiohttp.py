"""aiohttp sessions under a channel's GuardedSession rules, for client libraries built on aiohttp
(matrix-nio) that cannot be handed a requests session.

Two guards: trace hooks check every request and redirect URL with the session's `check` (the
channel's hosts; IP literals, which aiohttp never sends to a resolver), and the connector's
resolver is the channel's `AddressPolicy`, so aiohttp connects to the very addresses that were
vetted, never to a second lookup of the name (DNS rebinding). aiohttp keeps the host name for
TLS SNI and certificate verification.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from .addresses import AddressPolicy
from .http import GuardedSession


class GuardedResolver(AbstractResolver):
    """Resolves through an AddressPolicy: AddressRefused (not an OSError, so aiohttp does not
    report it as a DNS failure) for a name that leads anywhere the channel may not go."""

    def __init__(self, policy: AddressPolicy) -> None:
        self.policy = policy

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        infos = await asyncio.get_running_loop().run_in_executor(None, self.policy.resolve, host, port, family)
        flags = socket.AI_NUMERICHOST | socket.AI_NUMERICSERV
        return [ResolveResult(hostname=host, host=str(address[0]), port=int(address[1]), family=found,
                              proto=proto, flags=flags) for found, _, proto, _, address in infos]

    async def close(self) -> None:
        return None


def guarded_client_session(http: GuardedSession, timeout: float) -> aiohttp.ClientSession:
    """An aiohttp session (made inside the running event loop) that reaches only what `http` may."""

    async def on_start(_s: Any, _c: Any, params: aiohttp.TraceRequestStartParams) -> None:
        http.check(str(params.url))

    async def on_redirect(_s: Any, _c: Any, params: aiohttp.TraceRequestRedirectParams) -> None:
        http.check(str(params.response.url.join(URL(params.response.headers.get("Location", "")))))

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_start)
    trace.on_request_redirect.append(on_redirect)
    connector = aiohttp.TCPConnector(resolver=GuardedResolver(http.policy), use_dns_cache=False)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=timeout),
                                 trace_configs=[trace])
