"""E-mail over SMTP, with the standard library only (smtplib, email.message.EmailMessage).

Mail is private delivery to fixed addresses (a scan to a person, a status to a team list). There is
no read-back, so find_published returns None and delivery is *at least once*; but the Message-ID
is derived from the post key, so a resend carries the same Message-ID (many mail systems drop such
duplicates, and people's clients thread them together) plus an `X-ProcessCafe-Key` header.

Settings: `{"host", "port", "starttls": bool, "ssl": bool, "from", "to": [..], "timeout": seconds}`;
credentials `{"username", "password"}` are optional. The only host ever contacted is `host`, and it
must resolve to public addresses unless an admin allowed private ones for the channel: only the
channel's own flag counts, which arrives with the GuardedSession the server made for it (an
`allow_private` key in the settings is ignored, as for every other kind). The name is looked up
once, every address vetted, and the connection opened to one of those addresses, while STARTTLS
and SMTPS verify the certificate for the name (no second lookup to rebind). smtplib does not log;
its debug output (which would show the AUTH exchange) stays off.
"""

from __future__ import annotations

import hashlib
import smtplib
import socket
import ssl
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any, ClassVar

import requests

from .addresses import AddressPolicy, AddressRefused, HostNotAllowed
from .base import (
    DIRECT,
    MEDIA,
    AuthFailed,
    InboundPost,
    Post,
    PostRef,
    ReactionPage,
    Rejected,
    Transient,
)
from .http import GuardedSession
from .registry import register

SUBJECT_LENGTH = 78
DEFAULT_TIMEOUT = 30.0


def message_id(key: str, sender: str) -> str:
    """The same key always gives the same Message-ID, so receivers can recognise a resend.

    Short (128 bits of the key's hash) so that the header line is not folded for usual domains.
    """
    domain = sender.rpartition("@")[2] or "processcafe.invalid"
    return f"<pc.{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


def subject_of(text: str) -> str:
    first = next((line.strip() for line in text.splitlines() if line.strip()), "Process Café")
    return first if len(first) <= SUBJECT_LENGTH else first[:SUBJECT_LENGTH - 1].rstrip() + "…"


@register
class EmailConnector:
    """One SMTP account sending to a fixed list of recipients."""

    kind: ClassVar[str] = "email"
    capabilities: ClassVar[frozenset[str]] = frozenset({MEDIA, DIRECT})

    def __init__(self, name: str, settings: dict[str, Any], credentials: dict[str, Any],
                 http: requests.Session | None = None) -> None:
        self.name = name
        self.host: str = settings["host"]
        if not isinstance(self.host, str) or not self.host.strip("[] "):
            raise ValueError("an email channel needs a 'host' to send through")  # "" would be localhost
        self.use_ssl = bool(settings.get("ssl", False))
        self.starttls = bool(settings.get("starttls", not self.use_ssl))
        self.port = int(settings.get("port") or (465 if self.use_ssl else 587))
        self.sender: str = settings["from"]
        recipients = settings.get("to") or []
        self.recipients: list[str] = [recipients] if isinstance(recipients, str) else list(recipients)
        if not self.recipients:
            raise ValueError("an email channel needs at least one address in 'to'")
        if not isinstance(self.sender, str) or not all(isinstance(r, str) for r in self.recipients):
            raise ValueError("'from' and the addresses in 'to' must be text")
        # the channel's admin-set flag comes with its session; without one, nothing private is allowed
        self.policy = http.policy if isinstance(http, GuardedSession) else AddressPolicy.of([self.host])
        self.timeout = float(settings.get("timeout", DEFAULT_TIMEOUT))
        self._username: str | None = credentials.get("username")
        self._password: str | None = credentials.get("password")

    @staticmethod
    def hosts(settings: dict[str, Any], credentials: dict[str, Any]) -> set[str]:
        return {settings["host"]}

    def __repr__(self) -> str:  # never the credentials
        return f"<EmailConnector {self.name} {self.host}:{self.port}>"

    def build(self, post: Post) -> EmailMessage:
        msg = EmailMessage()
        msg["Subject"] = subject_of(post.text)
        msg["From"] = self.sender
        msg["To"] = ", ".join(self.recipients)
        msg["Date"] = format_datetime(datetime.now(timezone.utc))
        msg["Message-ID"] = message_id(post.key, self.sender)
        msg["X-ProcessCafe-Key"] = post.key
        if post.reply_to:
            msg["In-Reply-To"] = msg["References"] = post.reply_to
        msg.set_content(f"{post.text}\n\n{post.link}\n" if post.link else f"{post.text}\n")
        for media in post.media:
            maintype, _, subtype = media.content_type.partition("/")
            msg.add_attachment(media.content, maintype=maintype, subtype=subtype or "octet-stream",
                               filename=media.filename)
        return msg

    def _connect(self) -> smtplib.SMTP:
        self.policy.check_name(self.host)  # early and readable; the connection checks the lookup it uses
        context = ssl.create_default_context()
        smtp = _PinnedSMTPSSL(timeout=self.timeout, context=context) if self.use_ssl else \
            _PinnedSMTP(timeout=self.timeout)
        smtp.address_policy = self.policy
        try:
            smtp.connect(self.host, self.port)
            if self.starttls and not self.use_ssl:  # never fall back to plain text: no STARTTLS offered is an error
                smtp.starttls(context=context)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def publish(self, post: Post) -> PostRef:
        msg = self.build(post)
        try:
            with self._connect() as smtp:
                if self._username:
                    smtp.login(self._username, self._password or "")
                refused = smtp.send_message(msg)
        except (HostNotAllowed, AddressRefused) as err:
            raise Rejected(str(err)) from None
        except smtplib.SMTPAuthenticationError as err:
            raise AuthFailed(f"{self.host} refused the login ({err.smtp_code})") from None
        except smtplib.SMTPRecipientsRefused as err:
            codes = [code for code, _ in err.recipients.values()]
            kind = Transient if all(400 <= c < 500 for c in codes) else Rejected
            raise kind(f"{self.host} refused all recipients: {sorted(err.recipients)} ({codes})") from None
        except smtplib.SMTPResponseException as err:
            kind = Transient if 400 <= err.smtp_code < 500 else Rejected
            raise kind(f"{self.host} answered {err.smtp_code} {_text(err.smtp_error)}") from None
        except smtplib.SMTPNotSupportedError as err:
            raise Rejected(f"{self.host} does not support {err}") from None
        except ssl.SSLCertVerificationError as err:
            raise Rejected(f"{self.host}: TLS certificate not trusted ({err.verify_message})") from None
        except (smtplib.SMTPException, OSError) as err:  # disconnects, timeouts, refused connections, TLS
            raise Transient(f"{self.host}: {type(err).__name__}: {err}") from None
        return PostRef(channel=self.name, remote_id=msg["Message-ID"],
                       extra={"refused": sorted(refused)} if refused else {})

    def find_published(self, post: Post, not_before: datetime) -> PostRef | None:
        """SMTP cannot be read back: unknown means resend (same Message-ID)."""
        return None

    def fetch_reactions(self, ref: PostRef, cursor: str | None) -> ReactionPage:
        return ReactionPage(items=[], cursor=cursor)

    def inbound(self, cursor: str | None) -> tuple[list[InboundPost], str | None]:
        return [], cursor


class _PinnedSMTP(smtplib.SMTP):
    """Opens its socket to an address `address_policy` resolved and vetted. smtplib keeps the
    name in `_host`, and STARTTLS and SMTPS verify the certificate against it."""

    address_policy: AddressPolicy | None = None

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        if self.address_policy is None:
            raise AddressRefused(f"no address policy for {host}")
        error: OSError | None = None
        for address in dict.fromkeys(str(info[4][0]) for info in self.address_policy.resolve(host, port)):
            try:
                return socket.create_connection((address, port), timeout, self.source_address)
            except OSError as err:
                error = err
        raise error or OSError(f"{host} resolved to no address")


class _PinnedSMTPSSL(smtplib.SMTP_SSL, _PinnedSMTP):
    """SMTP_SSL wraps the socket `_PinnedSMTP._get_socket` opened (next in the MRO)."""


def _text(reply: bytes | str) -> str:
    return (reply.decode(errors="replace") if isinstance(reply, bytes) else reply)[:200]
