"""Connecting to the vetted address changes only where the socket goes: the Host header, TLS SNI
and certificate verification stay on the channel's host name. And nothing routes around the
check: no proxy from the environment, no adapter that opens its own connections."""

from __future__ import annotations

import pytest
import requests
from requests.adapters import HTTPAdapter

from connectors.http import HostNotAllowed, guarded_session
from tests.connectors.rebinding import ChangingDNS, recording_server, self_signed


def test_one_lookup_and_the_host_header_keeps_the_name(monkeypatch):
    dns = ChangingDNS({"pinned.test": ["127.0.0.1", "127.0.0.2"]})  # nothing listens on 127.0.0.2
    monkeypatch.setattr("socket.getaddrinfo", dns)
    with recording_server() as (port, seen):
        response = guarded_session(["pinned.test"], allow_private=True).get(f"http://pinned.test:{port}/x")
    assert response.status_code == 200
    assert [(s.path, s.host_header) for s in seen] == [("/x", f"pinned.test:{port}")]
    assert dns.of("pinned.test") == ["127.0.0.1"]


def test_tls_sni_and_certificate_are_checked_for_the_name(monkeypatch, tmp_path):
    monkeypatch.setattr("socket.getaddrinfo", ChangingDNS({"pinned.test": ["127.0.0.1"],
                                                           "other.test": ["127.0.0.1"]}))
    context, certificate = self_signed("pinned.test", tmp_path)
    with recording_server(tls=context) as (port, seen):
        session = guarded_session(["pinned.test", "other.test"], allow_private=True)
        session.verify = str(certificate)
        assert session.get(f"https://pinned.test:{port}/ok").status_code == 200
        with pytest.raises(requests.exceptions.SSLError, match="other.test"):  # same address, other name
            session.get(f"https://other.test:{port}/no")
    assert [(s.path, s.server_name, s.host_header) for s in seen] == [("/ok", "pinned.test", f"pinned.test:{port}")]


def test_proxies_from_the_environment_are_not_used(monkeypatch):
    """A proxy would look the name up itself, where no check sees it; the session connects directly."""
    monkeypatch.setattr("socket.getaddrinfo", ChangingDNS({"hook.test": ["127.0.0.1"]}))
    with recording_server() as (port, direct), recording_server() as (proxy_port, proxied):
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy_port}")
        monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{proxy_port}")
        guarded_session(["hook.test"], allow_private=True).get(f"http://hook.test:{port}/hook")
    assert proxied == [] and [s.path for s in direct] == ["/hook"]


def test_a_proxy_passed_explicitly_is_refused():
    with recording_server() as (port, seen):
        session = guarded_session(["127.0.0.1"], allow_private=True)
        with pytest.raises(HostNotAllowed, match="proxy"):
            session.get(f"http://127.0.0.1:{port}/", proxies={"http": f"http://127.0.0.1:{port}"})
    assert seen == []


def test_an_adapter_that_opens_its_own_connections_is_refused():
    """Only GuardedAdapters send: a plain one would connect without the address check."""
    with recording_server() as (port, seen):
        session = guarded_session(["127.0.0.1"], allow_private=True)
        session.mount("http://", HTTPAdapter())
        with pytest.raises(HostNotAllowed, match="HTTPAdapter"):
            session.get(f"http://127.0.0.1:{port}/")
    assert seen == []
