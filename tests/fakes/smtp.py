"""A real SMTP server (aiosmtpd) on a free loopback port that keeps what it receives, with
switches for the answers a connector must handle: refused recipients, temporary failures, logins."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class Delivered:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    login: str | None


@dataclass
class SmtpRecorder:
    """The aiosmtpd handler: records deliveries; `rcpt_reply`/`data_reply` override the answers."""

    delivered: list[Delivered] = field(default_factory=list)
    rcpt_reply: str | None = None  # e.g. "550 5.1.1 no such user" or "451 4.3.0 try later"
    data_reply: str | None = None
    users: dict[str, str] = field(default_factory=dict)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_reply:
            return self.data_reply
        message = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        self.delivered.append(Delivered(envelope.mail_from, list(envelope.rcpt_tos), message, login))
        return "250 OK queued"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = (isinstance(auth_data, LoginPassword)
              and self.users.get(auth_data.login.decode()) == auth_data.password.decode())
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def smtp_server(recorder: SmtpRecorder, **kwargs: Any) -> Controller:
    """A started controller; call .stop() when done. Logins are accepted without TLS (loopback only)."""
    auth = {"authenticator": recorder.authenticate, "auth_require_tls": False} if recorder.users else {}
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port(), **auth, **kwargs)
    controller.start()
    return controller
