"""A small forward HTTP proxy on a loopback port, for the outbound proxy tests: what an egress
proxy of a company network does, on a real socket.

It takes `CONNECT host:port` (a tunnel: it opens a TCP connection and relays bytes both ways, as
for https targets) and plain requests in absolute form (`GET http://host:port/path`, as clients send
http targets through a proxy), forwarded to the target with `Connection: close`. It records every
request line and its Proxy-Authorization, and can require credentials (407 otherwise). `routes`
stands for the proxy's own name resolution, which a client never sees: a host listed there is
connected to at the given address instead of being looked up.
"""

from __future__ import annotations

import base64
import selectors
import socket
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class ProxiedRequest:
    method: str
    target: str  # "host:port" for CONNECT, the absolute URL otherwise
    proxy_authorization: str | None


@dataclass
class ForwardProxy:
    routes: dict[str, str] = field(default_factory=dict)
    credentials: tuple[str, str] | None = None  # required if given
    requests: list[ProxiedRequest] = field(default_factory=list)
    connections: int = 0  # every TCP connection accepted, also ones that sent nothing usable
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url_with(self, user: str, password: str) -> str:
        return f"http://{user}:{password}@127.0.0.1:{self.port}"

    def authorized(self, header: str | None) -> bool:
        if self.credentials is None:
            return True
        expected = base64.b64encode(":".join(self.credentials).encode()).decode()
        return header == f"Basic {expected}"

    def open_upstream(self, host: str, port: int) -> socket.socket:
        return socket.create_connection((self.routes.get(host, host), port), timeout=5)

    @contextmanager
    def serving(self) -> Iterator[ForwardProxy]:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.proxy = self
        self.port = server.server_address[1]
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    proxy: ForwardProxy


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        proxy = self.server.proxy
        proxy.connections += 1
        request_line = self.rfile.readline(65537).decode("latin-1").strip()
        if not request_line:
            return
        method, target, _version = request_line.split(" ", 2)
        headers = self._read_headers()
        authorization = headers.get("proxy-authorization")
        proxy.requests.append(ProxiedRequest(method, target, authorization))
        if not proxy.authorized(authorization):
            self._answer(b"407 Proxy Authentication Required", b'Proxy-Authenticate: Basic realm="egress"\r\n')
            return
        if method == "CONNECT":
            self._tunnel(target)
        else:
            self._forward(method, target, headers)

    def _read_headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        while (line := self.rfile.readline(65537).decode("latin-1")) not in ("\r\n", "\n", ""):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return headers

    def _answer(self, status: bytes, extra_headers: bytes = b"") -> None:
        self.wfile.write(b"HTTP/1.1 " + status + b"\r\n" + extra_headers + b"Content-Length: 0\r\n"
                         b"Connection: close\r\n\r\n")

    def _upstream(self, host: str, port: int) -> socket.socket | None:
        try:
            return self.server.proxy.open_upstream(host, port)
        except OSError:
            self._answer(b"502 Bad Gateway")
            return None

    def _tunnel(self, target: str) -> None:
        host, _, port = target.rpartition(":")
        upstream = self._upstream(host.strip("[]"), int(port))
        if upstream is None:
            return
        with upstream:
            self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            self.wfile.flush()
            self._relay(upstream)

    def _forward(self, method: str, url: str, headers: dict[str, str]) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            self._answer(b"400 Bad Request")
            return
        body = self.rfile.read(int(headers.get("content-length") or 0))
        upstream = self._upstream(parts.hostname, parts.port or 80)
        if upstream is None:
            return
        path = parts.path or "/"
        kept = {name: value for name, value in headers.items()
                if name not in ("proxy-authorization", "proxy-connection", "connection", "keep-alive")}
        head = f"{method} {path}{'?' + parts.query if parts.query else ''} HTTP/1.1\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in kept.items()) + "Connection: close\r\n\r\n"
        with upstream:
            upstream.sendall(head.encode("latin-1") + body)
            while chunk := upstream.recv(65536):
                self.wfile.write(chunk)
        self.wfile.flush()

    def _relay(self, upstream: socket.socket) -> None:
        """Bytes both ways until either side closes."""
        client = self.connection
        with selectors.DefaultSelector() as selector:
            selector.register(client, selectors.EVENT_READ, upstream)
            selector.register(upstream, selectors.EVENT_READ, client)
            while True:
                for key, _ in selector.select(timeout=10):
                    data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                    if not data:
                        return
                    key.data.sendall(data)
