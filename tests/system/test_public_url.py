"""Links the server writes (feed posts, image URLs, Atom feeds) point to where `processcafe serve`
listens when PROCESSCAFE_PUBLIC_URL is not set: `scripts/dev serve --port 8080` must not link to
5000, where nothing (or another server) answers."""

import os

import pytest
import requests

from server.cli import _served_url
from tests.system.server import ServerProcess


def alternate_link(server: ServerProcess) -> str:
    """The Atom feed's link to the server's home page: built from the public URL, no sign-in needed."""
    answer = requests.get(f"{server.url}/feeds/definition:anything.atom", timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.text


@pytest.mark.slow
def test_links_follow_the_served_port(tmp_path, database_url, monkeypatch):
    monkeypatch.delitem(os.environ, "PROCESSCAFE_PUBLIC_URL", raising=False)
    server = ServerProcess(tmp_path / "data", database_url, ("--workers", "1")).start()
    try:
        atom = alternate_link(server)
        assert f'<link href="http://127.0.0.1:{server.port}/" rel="alternate"/>' in atom
        assert f"<id>http://127.0.0.1:{server.port}/feeds/definition:anything.atom</id>" in atom
    finally:
        server.stop()


@pytest.mark.slow
def test_a_set_public_url_wins(tmp_path, database_url):
    server = ServerProcess(tmp_path / "data", database_url, ("--workers", "1"),
                           PROCESSCAFE_PUBLIC_URL="https://cafe.example/").start()
    try:
        assert '<link href="https://cafe.example/" rel="alternate"/>' in alternate_link(server)
    finally:
        server.stop()


@pytest.mark.parametrize(("host", "url"), [("127.0.0.1", "http://127.0.0.1:8080"), ("0.0.0.0", "http://127.0.0.1:8080"),
                                           ("cafe.internal", "http://cafe.internal:8080"), ("::", "http://[::1]:8080")])
def test_a_wildcard_address_links_to_loopback(host, url):
    assert _served_url(host, 8080) == url
