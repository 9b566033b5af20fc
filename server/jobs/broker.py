"""How long anything of ours waits for the broker.

Redis's client waits for an answer for ever unless told otherwise, so a broker that accepts
connections and then says nothing (a stopped or overloaded Redis, a connection a firewall or NAT
dropped without a reset) would hang every HTTP request that hands a job to it, the readiness
check and the workers' sweepers, for good. Every connection to a Redis broker therefore gets a
socket timeout. It stays above the one second for which a worker's BRPOP waits at the broker
(kombu's `brpop_timeout`), so an idle worker does not take its quiet queue for a dead broker.
AMQP needs nothing here: its `connect_timeout` bounds the handshake too.
"""

from __future__ import annotations

from urllib.parse import urlsplit

CONNECT_SECONDS = 3.0
ANSWER_SECONDS = 5.0
REDIS_SCHEMES = frozenset({"redis", "rediss", "redis+socket", "sentinel"})


def transport_options(broker_url: str, answer_seconds: float = ANSWER_SECONDS) -> dict[str, float]:
    """kombu transport options that bound every wait on this broker (a readiness check passes
    its own, shorter, `answer_seconds`; a worker's must stay above one second)."""
    if urlsplit(broker_url).scheme in REDIS_SCHEMES:
        return {"socket_connect_timeout": min(CONNECT_SECONDS, answer_seconds), "socket_timeout": answer_seconds}
    return {}
