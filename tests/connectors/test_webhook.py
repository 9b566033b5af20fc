"""The webhook connector against a local receiver on a real socket."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import pytest

from connectors import base
from connectors.base import AuthFailed, Post, RateLimited, Rejected, Transient
from connectors.http import guarded_session
from connectors.registry import connector_class
from connectors.webhook import WebhookConnector
from tests.fakes.webhook import WebhookReceiver
from tests.fakes.wsgi_thread import serve_wsgi

SECRET_PATH = "/services/T0001/B0002/s3cr3tT0kenXYZ"
POST = Post(key="inst-1:announce:0", text="Order <42> shipped & paid", link="https://cafe.example/i/1")


@pytest.fixture
def receiver():
    fake = WebhookReceiver()
    with serve_wsgi(fake) as base_url:
        fake.base_url = base_url
        yield fake


def connector(receiver, preset="generic", path=SECRET_PATH, allow_private=True):
    url = receiver.base_url + path
    return WebhookConnector("hook", {"preset": preset}, {"url": url},
                            guarded_session([url], allow_private=allow_private))


def test_registered_and_announce_only():
    cls = connector_class("webhook")
    assert cls is WebhookConnector
    assert base.REPLIES not in cls.capabilities and base.NATIVE_IDEMPOTENCY not in cls.capabilities


def test_generic_body_and_idempotency_key(receiver):
    ref = connector(receiver).publish(POST)
    (req,) = receiver.requests
    assert req.method == "POST" and req.path == SECRET_PATH
    assert req.headers["Idempotency-Key"] == POST.key
    assert req.headers["Content-Type"] == "application/json"
    assert req.json == {"key": POST.key, "text": POST.text, "link": POST.link}  # no media: key omitted
    assert ref.channel == "hook" and ref.remote_id == POST.key


def test_slack_escapes_text_and_links_back(receiver):
    connector(receiver, "slack").publish(POST)
    body = receiver.requests[0].json
    assert body["text"].startswith("Order &lt;42&gt; shipped &amp; paid")
    assert f"<{POST.link}|Open in Process Café>" in body["text"]
    assert body["blocks"][0] == {"type": "section", "text": {"type": "mrkdwn", "text": body["text"]}}
    assert "Idempotency-Key" not in receiver.requests[0].headers


def test_mattermost_text(receiver):
    connector(receiver, "mattermost").publish(POST)
    assert receiver.requests[0].json == {"text": f"{POST.text}\n\n[Open in Process Café]({POST.link})"}


def test_discord_waits_for_the_message_id(receiver):
    ref = connector(receiver, "discord", "/api/webhooks/123/tok").publish(POST)
    req = receiver.requests[0]
    assert req.query == {"wait": ["true"]}
    assert req.json == {"content": f"{POST.text}\n\n{POST.link}", "allowed_mentions": {"parse": []}}
    assert ref.remote_id == "1180000000000000001"


@pytest.mark.parametrize("answer", [{"weird": 1}, {"id": None}, {"id": ""}, b"ok"])
def test_discord_without_a_message_id_keeps_the_post_key(receiver, answer):
    receiver.respond(200, answer)  # the message went out (a 2xx); only its id is missing
    ref = connector(receiver, "discord", "/api/webhooks/123/tok").publish(POST)
    assert ref.remote_id == POST.key


def test_teams_adaptive_card(receiver):
    connector(receiver, "teams", "/workflows/abc/triggers/manual/paths/invoke").publish(POST)
    body = receiver.requests[0].json
    assert body["type"] == "message"
    (attachment,) = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["body"][0]["text"] == POST.text
    assert card["actions"][0]["url"] == POST.link


def test_no_read_back(receiver):
    hook = connector(receiver)
    ref = hook.publish(POST)
    assert hook.find_published(POST, datetime.now(timezone.utc)) is None
    page = hook.fetch_reactions(ref, None)
    assert page.items == [] and page.cursor is None
    assert hook.inbound(None) == ([], None)


def test_retry_after_header_gives_rate_limited(receiver):
    receiver.respond(429, b"slow down", {"Retry-After": "30"})
    with pytest.raises(RateLimited) as info:
        connector(receiver, "slack").publish(POST)
    delay = info.value.retry_at - datetime.now(timezone.utc)
    assert timedelta(seconds=25) < delay <= timedelta(seconds=30)


def test_discord_retry_after_in_body(receiver):
    receiver.respond(429, {"message": "You are being rate limited.", "retry_after": 2.5, "global": False})
    with pytest.raises(RateLimited) as info:
        connector(receiver, "discord", "/api/webhooks/1/t").publish(POST)
    delay = info.value.retry_at - datetime.now(timezone.utc)
    assert timedelta(seconds=1) < delay <= timedelta(seconds=2.5)


@pytest.mark.parametrize(("status", "error"), [(500, Transient), (503, Transient), (400, Rejected),
                                                (404, Rejected), (401, AuthFailed), (403, AuthFailed)])
def test_status_mapping(receiver, status, error):
    receiver.respond(status, b"no")
    with pytest.raises(error) as info:
        connector(receiver).publish(POST)
    assert SECRET_PATH not in str(info.value)


def test_network_error_is_transient_and_hides_the_url():
    with serve_wsgi(WebhookReceiver()) as gone:
        pass  # the port is closed again: connection refused
    url = gone + SECRET_PATH
    hook = WebhookConnector("hook", {}, {"url": url}, guarded_session([url], allow_private=True))
    with pytest.raises(Transient) as info:
        hook.publish(POST)
    assert "s3cr3t" not in str(info.value) and info.value.__cause__ is None and info.value.__suppress_context__


def test_private_address_refused_unless_allowed(receiver):
    with pytest.raises(Rejected, match="private address"):
        connector(receiver, allow_private=False).publish(POST)
    assert receiver.requests == []


def test_host_outside_the_channel_refused(receiver):
    url = receiver.base_url + SECRET_PATH
    hook = WebhookConnector("hook", {}, {"url": url}, guarded_session(["hooks.slack.com"]))
    with pytest.raises(Rejected, match="not a host of this channel"):
        hook.publish(POST)
    assert receiver.requests == []


def test_url_belongs_in_credentials():
    with pytest.raises(ValueError, match="secret"):
        WebhookConnector("hook", {"url": "https://hooks.slack.com/x"}, {}, guarded_session([]))
    with pytest.raises(ValueError, match="preset"):
        WebhookConnector("hook", {"preset": "irc"}, {"url": "https://h.example/x"}, guarded_session([]))
    assert WebhookConnector.hosts({}, {"url": "https://hooks.slack.com/services/x"}) == {"hooks.slack.com"}


def test_secret_url_never_logged(receiver, caplog):
    caplog.set_level(logging.DEBUG)
    hook = connector(receiver, "discord")
    hook.publish(POST)
    receiver.respond(500, b"down")
    with pytest.raises(Transient):
        hook.publish(POST)
    assert any(r.name == "urllib3.connectionpool" for r in caplog.records)  # the request lines were logged
    assert "s3cr3t" not in caplog.text and "s3cr3t" not in repr(hook)
    assert all("s3cr3t" not in r.getMessage() for r in caplog.records)
