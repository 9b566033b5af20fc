"""The base of the stateful network fakes: a Flask app that records every request it receives and can
answer the next matching ones with a scripted failure (a 429 with reset headers, a 500), served on a
free loopback port by `tests.fakes.wsgi_thread.serve_wsgi` so the real client libraries talk real HTTP.

Tests assert on `requests` (what the client library actually sent) rather than on our own calls, which
is what catches a library quietly sending something else than we think.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, jsonify, request

from tests.fakes.wsgi_thread import serve_wsgi


@dataclass
class Recorded:
    """One request as the fake received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    json: Any = None
    form: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, tuple[str | None, str | None, bytes]] = field(default_factory=dict)  # name, type, bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


@dataclass
class Fault:
    status: int
    body: Any
    headers: dict[str, str]
    method: str | None
    path: str | None  # a prefix of the request path
    count: int

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (self.path is None or path.startswith(self.path))


class FakeService:
    """Subclasses add their routes to `self.app` and keep their state under `self.lock`."""

    def __init__(self, name: str):
        self.app = Flask(name)
        self.app.url_map.strict_slashes = False  # Mastodon.py asks for /api/v1/instance/ with the slash
        self.app.before_request(self._record_and_maybe_fail)
        self.requests: list[Recorded] = []
        self.lock = threading.RLock()
        self.base_url = ""
        self._faults: list[Fault] = []

    @contextmanager
    def serving(self) -> Iterator[str]:
        with serve_wsgi(self.app) as base_url:
            self.base_url = base_url
            yield base_url

    def fail_next(self, status: int, body: Any = None, headers: dict[str, str] | None = None,
                  method: str | None = None, path: str | None = None, count: int = 1) -> None:
        """Answer the next `count` requests matching method/path prefix with this status instead."""
        with self.lock:
            self._faults.append(Fault(status, body if body is not None else {"error": f"scripted {status}"},
                                      headers or {}, method, path, count))

    def received(self, method: str | None = None, path: str | None = None) -> list[Recorded]:
        """The recorded requests, optionally only those with this method and exact path."""
        with self.lock:
            return [r for r in self.requests if (method is None or r.method == method)
                    and (path is None or r.path.rstrip("/") == path.rstrip("/"))]

    def _record_and_maybe_fail(self) -> Response | None:
        files = {}
        for name, storage in request.files.items():
            files[name] = (storage.filename, storage.mimetype, storage.stream.read())
            storage.stream.seek(0)
        recorded = Recorded(request.method, request.path, request.args.to_dict(flat=False), dict(request.headers),
                            request.get_json(silent=True), request.form.to_dict(flat=False), files)
        with self.lock:
            self.requests.append(recorded)
            fault = next((f for f in self._faults if f.matches(request.method, request.path)), None)
            if fault is None:
                return None
            fault.count -= 1
            if fault.count <= 0:
                self._faults.remove(fault)
        response = jsonify(fault.body)
        response.status_code = fault.status
        response.headers.update(fault.headers)
        return response
