"""A webhook receiver that records every request and answers as scripted (Slack's "ok", Discord's
message JSON with ?wait=true, Teams' 202, or a queued error such as a 429 with Retry-After)."""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    requests: list[Received] = field(default_factory=list)
    _queued: deque[tuple[int, dict[str, str], bytes]] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def respond(self, status: int, body: Any = b"", headers: dict[str, str] | None = None) -> None:
        """Answer the next request with this instead of the default success."""
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        content_type = {"Content-Type": "application/json"} if not isinstance(body, bytes) else {}
        self._queued.append((status, {**content_type, **(headers or {})}, raw))

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        received = Received(
            environ["REQUEST_METHOD"], environ["PATH_INFO"], parse_qs(environ.get("QUERY_STRING", "")),
            {k[5:].replace("_", "-").title(): v for k, v in environ.items() if k.startswith("HTTP_")}
            | {"Content-Type": environ.get("CONTENT_TYPE", "")}, environ["wsgi.input"].read(length))
        with self._lock:
            self.requests.append(received)
            number = len(self.requests)
            queued = self._queued.popleft() if self._queued else None
        if queued is None:
            queued = self._default(received, number)
        status, headers, raw = queued
        start_response(f"{status} X", [*headers.items(), ("Content-Length", str(len(raw)))])
        return [raw]

    @staticmethod
    def _default(received: Received, number: int) -> tuple[int, dict[str, str], bytes]:
        if received.query.get("wait") == ["true"]:  # Discord returns the created message
            message = {"id": f"1180000000000000{number:03d}", "content": received.json.get("content")}
            return 200, {"Content-Type": "application/json"}, json.dumps(message).encode()
        if received.path.startswith("/workflows/"):  # Teams Workflows accept asynchronously
            return 202, {}, b""
        return 200, {"Content-Type": "text/plain"}, b"ok"
