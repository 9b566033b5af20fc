"""DNS rebinding: a channel's host name answers a public address when it is checked and a loopback
address a moment later, when the client connects. Every connector that reaches the network through
its channel's GuardedSession (webhooks, Mastodon.py, tweepy, and matrix-nio's aiohttp session)
must connect to an address that was vetted, or refuse; the loopback server must see nothing.

The changing answers come from `ChangingDNS` (the standard library's getaddrinfo replaced in this
test process); the servers are real ones on 127.0.0.1.
"""

from __future__ import annotations

import pytest

from connectors.base import Post, Rejected
from connectors.http import HostNotAllowed, guarded_session
from connectors.mastodon import MastodonConnector
from connectors.matrix import MatrixConnector
from connectors.webhook import WebhookConnector
from connectors.x import XConnector
from tests.connectors.rebinding import PUBLIC, ChangingDNS, recording_server, refuse_public_connections
from tests.fakes.x import FakeX

POST = Post(key="inst-1:announce:0", text="Order 42 shipped")
X_CREDENTIALS = {"consumer_key": "ck-1", "consumer_secret": "cs-1", "access_token": "1001-at",
                 "access_token_secret": "ats-1"}


@pytest.fixture
def loopback():
    with recording_server() as (port, seen):
        yield port, seen


def rebinding(monkeypatch, checked_lookups: int, name: str = "rebind.test") -> ChangingDNS:
    """`name` answers PUBLIC to its first `checked_lookups` lookups, 127.0.0.1 to every later one."""
    dns = ChangingDNS({name: [PUBLIC] * checked_lookups + ["127.0.0.1"]})
    monkeypatch.setattr("socket.getaddrinfo", dns)
    refuse_public_connections(monkeypatch)
    return dns


def test_the_session_connects_only_to_an_address_it_vetted(monkeypatch, loopback):
    port, seen = loopback
    dns = rebinding(monkeypatch, checked_lookups=1)  # the early check sees PUBLIC
    session = guarded_session(["rebind.test"])
    with pytest.raises(HostNotAllowed, match=r"private address \(127\.0\.0\.1\)"):
        session.get(f"http://rebind.test:{port}/hook", timeout=2)
    assert seen == []
    assert dns.of("rebind.test") == [PUBLIC, "127.0.0.1"]  # the refused answer is the one it would have used


def test_a_webhook_is_not_delivered_to_the_rebound_address(monkeypatch, loopback):
    port, seen = loopback
    rebinding(monkeypatch, checked_lookups=1)
    url = f"http://rebind.test:{port}/services/T1/B2/secret"
    hook = WebhookConnector("hook", {}, {"url": url}, guarded_session(WebhookConnector.hosts({}, {"url": url})))
    with pytest.raises(Rejected, match="127.0.0.1"):
        hook.publish(POST)
    assert seen == []


def test_mastodon_py_requests_are_not_sent_to_the_rebound_address(monkeypatch, loopback):
    port, seen = loopback
    rebinding(monkeypatch, checked_lookups=1)
    settings = {"base_url": f"http://rebind.test:{port}", "mastodon_version": "4.3.0"}
    masto = MastodonConnector("masto", settings, {"access_token": "tok"},
                              guarded_session(MastodonConnector.hosts(settings)))
    with pytest.raises(HostNotAllowed, match="127.0.0.1"):
        masto.publish(POST)
    assert seen == []


@pytest.mark.slow
def test_matrix_nio_connects_only_to_an_address_it_vetted(monkeypatch, loopback):
    """nio's aiohttp session checks the URL (twice: before the call and as the request starts);
    its connector must then resolve through the channel's policy, not look the name up again."""
    port, seen = loopback
    rebinding(monkeypatch, checked_lookups=2)
    settings = {"homeserver": f"http://rebind.test:{port}", "room_id": "!room:rebind.test"}
    credentials = {"user_id": "@cafe:rebind.test", "device_id": "CAFE", "access_token": "tok"}
    room = MatrixConnector("room", settings, credentials, guarded_session(MatrixConnector.hosts(settings, {})))
    with pytest.raises(Rejected, match=r"private address \(127\.0\.0\.1\)"):
        room.publish(POST)
    assert seen == []


@pytest.fixture
def fake_x():
    fake = FakeX()
    with fake.serving():
        fake.add_consumer(X_CREDENTIALS["consumer_key"], X_CREDENTIALS["consumer_secret"])
        fake.me = fake.add_user("cafe", "1001", X_CREDENTIALS["access_token"], X_CREDENTIALS["access_token_secret"])
        yield fake


def test_the_x_gateway_is_checked_at_each_request_not_only_when_saved(monkeypatch, fake_x):
    """The gateway's name was public when the channel was saved; now it leads to a loopback address
    and the channel does not allow private ones: tweepy's request must not reach it."""
    port = fake_x.base_url.rsplit(":", 1)[1]
    monkeypatch.setattr("socket.getaddrinfo", ChangingDNS({"gateway.test": ["127.0.0.1"]}))
    settings = {"username": "cafe", "api_base": f"http://gateway.test:{port}"}
    x = XConnector("x", settings, X_CREDENTIALS, guarded_session(XConnector.hosts(settings)))
    with pytest.raises(HostNotAllowed, match="gateway.test"):
        x.publish(POST)
    assert fake_x.requests == []


def test_the_x_gateway_must_be_one_of_the_channels_hosts(fake_x):
    """A session for X's own hosts only does not carry tweepy's requests to another host."""
    settings = {"username": "cafe", "api_base": fake_x.base_url}
    x = XConnector("x", settings, X_CREDENTIALS, guarded_session(XConnector.hosts({}), allow_private=True))
    with pytest.raises(HostNotAllowed, match="127.0.0.1"):
        x.publish(POST)
    assert fake_x.requests == []


def test_the_x_gateway_works_when_allowed(monkeypatch, fake_x):
    port = fake_x.base_url.rsplit(":", 1)[1]
    monkeypatch.setattr("socket.getaddrinfo", ChangingDNS({"gateway.test": ["127.0.0.1"]}))
    settings = {"username": "cafe", "api_base": f"http://gateway.test:{port}"}
    x = XConnector("x", settings, X_CREDENTIALS, guarded_session(XConnector.hosts(settings), allow_private=True))
    assert x.publish(POST).remote_id
    [sent] = fake_x.received("POST", "/2/tweets")
    assert sent.header("Host") == f"gateway.test:{port}"
