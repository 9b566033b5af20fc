# ruff: noqa: F811 (the fake webhook's fixture comes from tests.connectors.test_webhook)
"""The admin's outbound proxy (PROCESSCAFE_OUTBOUND_PROXY): with it, connectors' HTTP goes through
it (a real forward proxy on a loopback port, `ForwardProxy`); without it, nothing does, whatever
HTTP(S)_PROXY say. The channel's hosts are still the only ones reached, a host's local answer is
still vetted before the proxy is asked, and the proxy's credentials appear in no log or error.

Host names come from `ChangingDNS` (this process's lookups, the local check's view) and from the
proxy's `routes` (its own resolution): a name can look public here and lead to a local fake there.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from dataclasses import replace

import aiohttp
import pytest
import requests

from connectors.base import ConnectorError, Post, Rejected
from connectors.guarded_aiohttp import guarded_client_session
from connectors.http import GuardedSession, HostNotAllowed, OutboundProxy, guarded_session
from connectors.mastodon import MastodonConnector
from connectors.matrix import MatrixConnector
from connectors.webhook import WebhookConnector
from server.app import create_app
from server.config import Settings
from server.models import Channel
from server.social import channels
from tests.connectors.forward_proxy import ForwardProxy
from tests.connectors.rebinding import PUBLIC, ChangingDNS, recording_server, refuse_public_connections, self_signed
from tests.connectors.test_webhook import receiver  # noqa: F401 - the fake webhook's fixture
from tests.fakes.mastodon import FakeMastodon

POST = Post(key="inst-1:announce:0", text="Order 42 shipped")
TOKEN = "mtok-proxy-7c1d9e"
PROXY_USER, PROXY_SECRET = "egress", "pr0xy-S3CRET-91f"


@pytest.fixture
def proxy():
    with ForwardProxy().serving() as running:
        yield running


@pytest.fixture
def public_names(monkeypatch):
    """Names that resolve to a public address here (the test never connects to it) and lead to
    127.0.0.1 only through a proxy's routes."""
    monkeypatch.setattr("socket.getaddrinfo", ChangingDNS({"hook.test": [PUBLIC], "masto.test": [PUBLIC],
                                                           "other.test": [PUBLIC]}))
    refuse_public_connections(monkeypatch)


def webhook(url: str, http: GuardedSession) -> WebhookConnector:
    return WebhookConnector("hook", {"preset": "generic"}, {"url": url}, http)


def test_the_webhook_goes_through_the_proxy_to_an_https_host(monkeypatch, tmp_path, proxy, public_names):
    """https: a CONNECT tunnel; TLS is still checked for the channel's host name. The proxy is on a
    loopback address although the channel allows no private ones: it is the admin's."""
    context, certificate = self_signed("hook.test", tmp_path)
    with recording_server(tls=context) as (port, seen):
        proxy.routes["hook.test"] = "127.0.0.1"
        url = f"https://hook.test:{port}/services/hook"
        http = guarded_session([url], proxy=OutboundProxy.from_url(proxy.url))
        http.verify = str(certificate)
        assert webhook(url, http).publish(POST).remote_id == POST.key
    assert [(r.method, r.target) for r in proxy.requests] == [("CONNECT", f"hook.test:{port}")]
    assert [(s.method, s.path, s.server_name) for s in seen] == [("POST", "/services/hook", "hook.test")]


def test_mastodon_py_goes_through_the_proxy(proxy, public_names):
    fake = FakeMastodon()
    with fake.serving():
        fake.me = fake.add_account("cafe", token=TOKEN)
        proxy.routes["masto.test"] = "127.0.0.1"
        base_url = fake.base_url.replace("127.0.0.1", "masto.test")
        settings = {"base_url": base_url, "mastodon_version": "4.3.0"}
        masto = MastodonConnector("masto", settings, {"access_token": TOKEN},
                                  guarded_session([base_url], proxy=OutboundProxy.from_url(proxy.url)))
        assert masto.publish(POST).remote_id
        [sent] = fake.received("POST", "/api/v1/statuses")
    assert sent.header("Authorization") == f"Bearer {TOKEN}"
    assert ("POST", f"{base_url}/api/v1/statuses") in [(r.method, r.target) for r in proxy.requests]


def test_matrix_aiohttp_goes_through_the_proxy(proxy, public_names):
    with recording_server() as (port, seen):
        proxy.routes["hook.test"] = "127.0.0.1"
        http = guarded_session([f"http://hook.test:{port}"], proxy=OutboundProxy.from_url(proxy.url))

        async def get() -> int:
            async with guarded_client_session(http, 5) as session, \
                    session.get(f"http://hook.test:{port}/_matrix/client/versions") as response:
                return response.status

        assert asyncio.run(get()) == 200
    assert [(r.method, r.target) for r in proxy.requests] == [
        ("GET", f"http://hook.test:{port}/_matrix/client/versions")]
    assert [s.path for s in seen] == ["/_matrix/client/versions"]


def test_without_the_setting_no_proxy_is_used_whatever_the_environment_says(monkeypatch, tmp_path, proxy,
                                                                           receiver):
    monkeypatch.delenv("PROCESSCAFE_OUTBOUND_PROXY", raising=False)
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, proxy.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    url = receiver.base_url + "/hook"
    webhook(url, guarded_session([url], allow_private=True)).publish(POST)
    fake = FakeMastodon()
    with fake.serving():
        fake.me = fake.add_account("cafe", token=TOKEN)
        settings = {"base_url": fake.base_url, "mastodon_version": "4.3.0"}
        MastodonConnector("masto", settings, {"access_token": TOKEN},
                          guarded_session([fake.base_url], allow_private=True)).publish(POST)
        assert fake.received("POST", "/api/v1/statuses")
    assert [r.path for r in receiver.requests] == ["/hook"]
    assert proxy.connections == 0
    assert Settings.from_env(data_dir=tmp_path).outbound_proxy is None


def test_a_name_only_the_proxy_can_resolve_is_left_to_it(proxy, public_names, receiver):
    """Egress networks often resolve outside names only at the proxy: no local answer, no refusal."""
    proxy.routes["outside.test"] = "127.0.0.1"
    url = receiver.base_url.replace("127.0.0.1", "outside.test") + "/hook"
    webhook(url, guarded_session([url], proxy=OutboundProxy.from_url(proxy.url))).publish(POST)
    assert [(r.method, r.target) for r in proxy.requests] == [("POST", url)]
    assert [r.path for r in receiver.requests] == ["/hook"]


def test_a_host_not_of_the_channel_is_refused_before_the_proxy_hears_of_it(proxy, public_names):
    outbound = OutboundProxy.from_url(proxy.url)
    with pytest.raises(HostNotAllowed, match="other.test"):
        guarded_session(["hook.test"], proxy=outbound).get("https://other.test/steal")
    with pytest.raises(Rejected, match="other.test"):
        webhook("https://other.test/x", guarded_session(["hook.test"], proxy=outbound)).publish(POST)

    async def get() -> None:
        async with guarded_client_session(guarded_session(["hook.test"], proxy=outbound), 5) as session:
            await session.get("http://other.test/x")

    with pytest.raises(HostNotAllowed, match="other.test"):
        asyncio.run(get())
    assert proxy.connections == 0


@pytest.mark.parametrize("url", ["http://127.0.0.1/x", "http://[::1]/x", "http://169.254.169.254/latest",
                                 "http://private.test/x"])
def test_private_targets_seen_locally_are_refused_unless_allowed(monkeypatch, proxy, url):
    """An IP literal is known here for what it is, and a name whose local answer is private is
    refused too (the proxy might resolve it the same way)."""
    monkeypatch.setattr("socket.getaddrinfo", ChangingDNS({"private.test": ["10.0.0.7"]}))
    http = guarded_session([url], proxy=OutboundProxy.from_url(proxy.url))
    with pytest.raises(HostNotAllowed, match="private address"):
        http.get(url)
    with pytest.raises(Rejected, match="private address"):
        webhook(url, guarded_session([url], proxy=OutboundProxy.from_url(proxy.url))).publish(POST)
    assert proxy.connections == 0


def test_the_proxy_gets_its_credentials_and_they_are_never_shown(proxy, public_names, receiver, caplog):
    caplog.set_level(logging.DEBUG)
    proxy.credentials = (PROXY_USER, PROXY_SECRET)
    proxy.routes["hook.test"] = "127.0.0.1"
    port = receiver.base_url.rsplit(":", 1)[1]
    url = f"http://hook.test:{port}/hook"
    outbound = OutboundProxy.from_url(proxy.url_with(PROXY_USER, PROXY_SECRET))
    webhook(url, guarded_session([url], proxy=outbound)).publish(POST)

    async def get() -> int:  # as matrix-nio's requests go
        async with guarded_client_session(guarded_session([url], proxy=outbound), 5) as session, \
                session.get(url) as response:
            return response.status

    assert asyncio.run(get()) == 200
    expected = "Basic " + base64.b64encode(f"{PROXY_USER}:{PROXY_SECRET}".encode()).decode()
    assert [r.proxy_authorization for r in proxy.requests] == [expected, expected]
    assert [(r.method, r.path) for r in receiver.requests] == [("POST", "/hook"), ("GET", "/hook")]

    errors = []
    wrong = OutboundProxy.from_url(proxy.url_with(PROXY_USER, PROXY_SECRET + "-old"))
    for outbound, target in ((wrong, url), (wrong, f"https://hook.test:{port}/hook"),
                             (OutboundProxy.from_url(f"http://{PROXY_USER}:{PROXY_SECRET}@127.0.0.1:9"), url)):
        with pytest.raises(ConnectorError) as raised:  # the proxy's 407, a refused tunnel, no proxy there
            webhook(target, guarded_session([target], proxy=outbound)).publish(POST)
        errors.append(f"{raised.value!r} {raised.value} {raised.value.__cause__!r} {raised.value.__context__!r}")
        errors.append(raw_error(target, outbound))
        errors.append(matrix_error(target.rpartition("/")[0], outbound))
    assert len(receiver.requests) == 2
    shown = "\n".join([*errors, caplog.text, repr(outbound), str(outbound)])
    assert "407" in shown and "ProxyError" in shown and "Cannot connect to host 127.0.0.1:9" in shown
    for secret in (PROXY_SECRET, "pr0xy", *(base64.b64encode(f"{PROXY_USER}:{password}".encode()).decode()[:12]
                                              for password in (PROXY_SECRET, PROXY_SECRET + "-old"))):
        assert secret not in shown
    assert "407" in errors[0]


def raw_error(url: str, outbound: OutboundProxy) -> str:
    """What requests and aiohttp themselves say when the proxy fails or refuses (or its answer)."""
    said = []
    try:
        said.append(repr(guarded_session([url], proxy=outbound).get(url)))
    except requests.RequestException as err:
        said.append(f"{err!r} {err} {err.__context__!r}")

    async def get() -> str:
        async with guarded_client_session(guarded_session([url], proxy=outbound), 5) as session, \
                session.get(url) as response:
            return repr(response)

    try:
        said.append(asyncio.run(get()))
    except aiohttp.ClientError as err:  # its repr shows the request's headers (Proxy-Authorization too)
        said.append(str(err))
    return "\n".join(said)


def matrix_error(homeserver: str, outbound: OutboundProxy) -> str:
    settings = {"homeserver": homeserver, "room_id": "!room:hook.test"}
    credentials = {"user_id": "@cafe:hook.test", "device_id": "CAFE", "access_token": "tok"}
    http = guarded_session(MatrixConnector.hosts(settings, {}), proxy=outbound)
    with pytest.raises(ConnectorError) as raised:
        MatrixConnector("room", settings, credentials, http).publish(POST)
    return f"{raised.value!r} {raised.value}"


def test_the_setting_is_read_and_checked_at_startup(monkeypatch, tmp_path):
    monkeypatch.setenv("HTTPS_PROXY", "http://elsewhere.test:1")
    monkeypatch.setenv("PROCESSCAFE_OUTBOUND_PROXY", f"http://{PROXY_USER}:{PROXY_SECRET}@proxy.corp:3128")
    settings = Settings.from_env(data_dir=tmp_path)
    assert settings.outbound_proxy == OutboundProxy("http", "proxy.corp", 3128, PROXY_USER, PROXY_SECRET)
    assert PROXY_SECRET not in repr(settings)
    for bad in (f"{PROXY_USER}:{PROXY_SECRET}@proxy.corp:3128", f"socks5://{PROXY_USER}:{PROXY_SECRET}@proxy.corp",
                f"http://{PROXY_USER}:{PROXY_SECRET}@proxy.corp:99999", "http://", "http://proxy.corp:3128/path",
                f"http://{PROXY_USER}:{PROXY_SECRET}@proxy.corp:31x8"):
        monkeypatch.setenv("PROCESSCAFE_OUTBOUND_PROXY", bad)
        with pytest.raises(ValueError, match="PROCESSCAFE_OUTBOUND_PROXY") as raised:
            Settings.from_env(data_dir=tmp_path)
        assert PROXY_SECRET not in str(raised.value)


@pytest.fixture
def server_with_proxy(proxy, settings):
    """The app as `processcafe serve` builds it, with PROCESSCAFE_OUTBOUND_PROXY set."""
    app = create_app(replace(settings, outbound_proxy=OutboundProxy.from_url(proxy.url)))
    yield app.extensions["processcafe"]
    app.extensions["processcafe"].db.dispose()
    channels.use_outbound_proxy(None)  # the process-wide setting, as an app without it leaves it


def test_the_server_builds_channels_connectors_with_its_proxy(server_with_proxy, proxy, public_names, receiver):
    proxy.routes["hook.test"] = "127.0.0.1"
    url = receiver.base_url.replace("127.0.0.1", "hook.test") + "/hook"
    vault = server_with_proxy.vault
    channel = Channel(name="hook", kind="webhook", settings={"preset": "generic"}, allow_private=False,
                      credentials=vault.seal({"url": url}))
    channels.connector_for(channel, vault).publish(POST)
    assert [(r.method, r.target) for r in proxy.requests] == [("POST", url)]
    assert [r.path for r in receiver.requests] == ["/hook"]


def test_matrix_connector_uses_the_sessions_proxy(proxy, public_names):
    """matrix-nio's own requests carry the session's proxy (nio passes proxy=None per request)."""
    with recording_server() as (port, seen):
        proxy.routes["hook.test"] = "127.0.0.1"
        settings = {"homeserver": f"http://hook.test:{port}", "room_id": "!room:hook.test"}
        credentials = {"user_id": "@cafe:hook.test", "device_id": "CAFE", "access_token": "tok"}
        http = guarded_session(MatrixConnector.hosts(settings, {}), proxy=OutboundProxy.from_url(proxy.url))
        MatrixConnector("room", settings, credentials, http).publish(POST)
    assert seen and all(r.target.startswith(f"http://hook.test:{port}/_matrix/") for r in proxy.requests)
    assert len(proxy.requests) == len(seen)
