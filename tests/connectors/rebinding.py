"""Test helpers for outbound address checks: a DNS whose answers change between lookups, and a
recording HTTP(S) server on a loopback address.

No resolver can be run here, so `ChangingDNS` replaces the standard library's
`socket.getaddrinfo` in the test process (monkeypatch; our code is left as it is). Every client
below it (requests/urllib3, asyncio and aiohttp, smtplib) resolves through that function, so an
answer that changes between two lookups reaches them as it would from an attacker's name server.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

PUBLIC = "93.184.215.14"  # a public address (never connected to: the tests stop before)
_REAL_GETADDRINFO = socket.getaddrinfo


@dataclass
class ChangingDNS:
    """Answers for made-up names: `answers[name]` is the sequence of addresses successive lookups
    get (the last one repeats). IP literals resolve as usual; any other name does not resolve, so
    no test asks a real name server."""

    answers: dict[str, list[str]]
    lookups: list[tuple[str, str]] = field(default_factory=list)  # (name, address answered)

    def __call__(self, host, port, family=0, type=0, proto=0, flags=0):  # noqa: A002 - getaddrinfo's names
        name = host.decode() if isinstance(host, bytes) else str(host)
        try:
            ipaddress.ip_address(name.split("%", 1)[0])
            return _REAL_GETADDRINFO(host, port, family, type, proto, flags)
        except ValueError:
            pass
        queue = self.answers.get(name.rstrip(".").lower())
        if not queue:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        address = queue.pop(0) if len(queue) > 1 else queue[0]
        self.lookups.append((name, address))
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, int(port or 0)))]

    def of(self, name: str) -> list[str]:
        return [address for looked_up, address in self.lookups if looked_up == name]


def refuse_public_connections(monkeypatch) -> None:
    """Make sure a test never opens a connection to PUBLIC, whatever the code under test does."""
    connect = socket.socket.connect

    def guarded(sock, address):
        if isinstance(address, tuple) and address[0] == PUBLIC:
            raise ConnectionRefusedError(f"the test does not connect to {PUBLIC}")
        return connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    monkeypatch.setattr(socket.socket, "connect_ex", lambda sock, address: (
        111 if isinstance(address, tuple) and address[0] == PUBLIC else connect(sock, address) or 0))


@dataclass
class Seen:
    method: str
    path: str
    host_header: str | None
    server_name: str | None  # TLS SNI, for HTTPS


class _Handler(BaseHTTPRequestHandler):
    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.server.seen.append(Seen(self.command, self.path, self.headers.get("Host"),  # type: ignore[attr-defined]
                                     getattr(self.connection, "server_name", None)))
        body = b'{"id": "1", "event_id": "$1"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = _answer

    def log_message(self, *args) -> None:
        pass


@contextmanager
def recording_server(address: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> Iterator[
        tuple[int, list[Seen]]]:
    """An HTTP (or, with `tls`, HTTPS) server on `address`; yields its port and what it received."""
    server = ThreadingHTTPServer((address, 0), _Handler)
    server.seen = []  # type: ignore[attr-defined]
    if tls is not None:
        def remember_name(sock, name, _context):
            sock.server_name = name
        tls.sni_callback = remember_name
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], server.seen  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()


def self_signed(name: str, folder: Path) -> tuple[ssl.SSLContext, Path]:
    """A server context with a certificate for `name` only, and the certificate file a client trusts."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / f"{name}.pem", folder / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context, cert_file
