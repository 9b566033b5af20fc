"""The e-mail connector against a real SMTP server (aiosmtpd) on a loopback port."""

from __future__ import annotations

import logging
import socket
import threading
from datetime import datetime, timezone

import pytest

from connectors import base
from connectors.base import AuthFailed, MediaFile, Post, Rejected, Transient
from connectors.email import EmailConnector, message_id
from connectors.http import guarded_session
from connectors.registry import connector_class
from tests.connectors.rebinding import PUBLIC, ChangingDNS, refuse_public_connections
from tests.fakes.smtp import SmtpRecorder, smtp_server

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
POST = Post(key="inst-7:review_scan:0", text="Please check the scan of invoice 42\nSecond line",
            media=(MediaFile(PNG, "image/png", "scan.png", "the scan"),), link="https://cafe.example/t/9")
SETTINGS = {"port": 0, "starttls": False, "from": "cafe@cafe.example", "to": ["ann@example.org", "bob@example.org"],
            "timeout": 5}
LOCAL = guarded_session(["127.0.0.1"], allow_private=True)  # what the server makes for a channel an admin allowed


@pytest.fixture
def smtp():
    recorder = SmtpRecorder(users={"cafe": "pa55-w0rd-xyz"})
    controller = smtp_server(recorder)
    recorder.port = controller.port
    yield recorder
    controller.stop()


def connector(smtp, credentials=None, http=LOCAL, **settings):
    return EmailConnector("mail", {**SETTINGS, "host": "127.0.0.1", "port": smtp.port, **settings},
                          credentials or {}, http)


def test_registered_with_media_and_direct():
    assert connector_class("email") is EmailConnector
    assert {base.MEDIA, base.DIRECT} <= EmailConnector.capabilities
    assert base.REPLIES not in EmailConnector.capabilities


def test_message_with_attachment_and_key_headers(smtp):
    ref = connector(smtp).publish(POST)
    (got,) = smtp.delivered
    msg = got.message
    assert got.mail_from == "cafe@cafe.example" and got.rcpt_tos == ["ann@example.org", "bob@example.org"]
    assert msg["Subject"] == "Please check the scan of invoice 42"
    assert msg["From"] == "cafe@cafe.example" and msg["To"] == "ann@example.org, bob@example.org"
    assert msg["Message-ID"] == message_id(POST.key, "cafe@cafe.example") == ref.remote_id
    assert msg["Message-ID"].endswith("@cafe.example>")
    assert msg["X-ProcessCafe-Key"] == POST.key
    body = msg.get_body(("plain",)).get_content().replace("\r\n", "\n")  # CRLF on the wire
    assert POST.text in body and POST.link in body
    (attachment,) = list(msg.iter_attachments())
    assert attachment.get_content_type() == "image/png" and attachment.get_filename() == "scan.png"
    assert attachment.get_content() == PNG
    assert ref.channel == "mail"


def test_resend_carries_the_same_message_id(smtp):
    mail = connector(smtp)
    first, second = mail.publish(POST), mail.publish(POST)
    assert first.remote_id == second.remote_id
    assert len({d.message["Message-ID"] for d in smtp.delivered}) == 1 and len(smtp.delivered) == 2
    assert mail.find_published(POST, datetime.now(timezone.utc)) is None  # no read-back: at least once
    assert mail.fetch_reactions(first, None).items == []


def test_reply_threads_by_message_id(smtp):
    connector(smtp).publish(Post(key="k2", text="Decided: approved", reply_to="<abc@cafe.example>"))
    msg = smtp.delivered[0].message
    assert msg["In-Reply-To"] == "<abc@cafe.example>" and msg["References"] == "<abc@cafe.example>"
    assert not list(msg.iter_attachments())


def test_login_and_credentials_never_logged(smtp, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.WARNING, logger="mail.log")  # the fake server's own protocol trace
    mail = connector(smtp, {"username": "cafe", "password": "pa55-w0rd-xyz"})
    mail.publish(POST)
    assert smtp.delivered[0].login == "cafe"
    with pytest.raises(AuthFailed) as info:
        connector(smtp, {"username": "cafe", "password": "wrong-pa55"}).publish(POST)
    assert "pa55" not in str(info.value) and "pa55" not in repr(mail)
    assert "pa55" not in caplog.text


@pytest.mark.parametrize(("where", "reply", "error"), [
    ("rcpt_reply", "550 5.1.1 no such user", Rejected), ("rcpt_reply", "451 4.3.0 try later", Transient),
    ("data_reply", "554 5.7.1 spam", Rejected), ("data_reply", "452 4.3.1 out of space", Transient)])
def test_smtp_replies(smtp, where, reply, error):
    setattr(smtp, where, reply)
    with pytest.raises(error, match=reply.split()[0]):
        connector(smtp).publish(POST)
    assert smtp.delivered == []


def test_private_host_refused_unless_allowed(smtp):
    with pytest.raises(Rejected, match="private address"):
        connector(smtp, http=guarded_session(["127.0.0.1"])).publish(POST)
    with pytest.raises(Rejected, match="private address"):
        connector(smtp, http=None).publish(POST)
    assert smtp.delivered == []


@pytest.mark.parametrize("http", [guarded_session(["127.0.0.1"]), None], ids=["channel-not-allowed", "no-session"])
def test_allow_private_in_the_settings_allows_nothing(smtp, http):
    """Only the channel's own admin-set flag (it comes with the session) allows private addresses;
    an `allow_private` key among the settings, which whoever edits settings can write, does not."""
    with pytest.raises(Rejected, match="private address"):
        connector(smtp, http=http, allow_private=True).publish(POST)
    assert smtp.delivered == []


def test_starttls_required_but_not_offered(smtp):
    with pytest.raises(Rejected, match="STARTTLS"):
        connector(smtp, starttls=True).publish(POST)
    assert smtp.delivered == []


def _bad_server(greet: bool):
    """A port that accepts and then hangs up (greet=False closes at once) or never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held: list[socket.socket] = []

    def serve():
        conn, _ = listener.accept()
        if greet:
            held.append(conn)  # keep it open and silent
        else:
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    return listener, held


@pytest.mark.parametrize("greet", [False, True], ids=["disconnect", "timeout"])
def test_disconnects_and_timeouts_are_transient(greet):
    listener, held = _bad_server(greet)
    mail = EmailConnector("mail", {**SETTINGS, "host": "127.0.0.1", "port": listener.getsockname()[1],
                                   "timeout": 0.5}, {}, LOCAL)
    with pytest.raises(Transient):
        mail.publish(POST)
    for sock in [listener, *held]:
        sock.close()


def test_connection_refused_is_transient():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    with pytest.raises(Transient):
        EmailConnector("mail", {**SETTINGS, "host": "127.0.0.1", "port": port}, {}, LOCAL).publish(POST)


def test_private_allowed_by_the_channel_session(smtp):
    settings = {**SETTINGS, "host": "127.0.0.1", "port": smtp.port, "allow_private": False}
    EmailConnector("mail", settings, {}, guarded_session(["127.0.0.1"], allow_private=True)).publish(POST)
    assert len(smtp.delivered) == 1


def test_the_smtp_connection_goes_only_to_an_address_that_was_vetted(smtp, monkeypatch):
    """DNS rebinding: the name answers a public address to the check and 127.0.0.1 to the lookup
    the connection makes; smtplib must not connect to the second unvetted."""
    dns = ChangingDNS({"mail.test": [PUBLIC, "127.0.0.1"]})
    monkeypatch.setattr("socket.getaddrinfo", dns)
    refuse_public_connections(monkeypatch)
    mail = EmailConnector("mail", {**SETTINGS, "host": "mail.test", "port": smtp.port}, {},
                          guarded_session(["mail.test"]))
    with pytest.raises(Rejected, match=r"private address \(127\.0\.0\.1\)"):
        mail.publish(POST)
    assert smtp.delivered == []
    assert dns.of("mail.test") == [PUBLIC, "127.0.0.1"]


def test_a_host_name_is_looked_up_and_mail_sent_to_its_address(smtp, monkeypatch):
    """With private addresses allowed, no early check is needed: one lookup, and the connection
    goes to its answer (smtplib keeps the name for STARTTLS and SMTPS certificate checks)."""
    dns = ChangingDNS({"mail.test": ["127.0.0.1", "127.0.0.2"]})  # nothing listens on 127.0.0.2
    monkeypatch.setattr("socket.getaddrinfo", dns)
    mail = EmailConnector("mail", {**SETTINGS, "host": "mail.test", "port": smtp.port}, {},
                          guarded_session(["mail.test"], allow_private=True))
    mail.publish(POST)
    assert len(smtp.delivered) == 1
    assert dns.of("mail.test") == ["127.0.0.1"]
