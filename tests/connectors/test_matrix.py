"""The Matrix connector (matrix-nio) against a real Synapse homeserver on a loopback port."""

from __future__ import annotations

import json
import logging
import struct
import time
import uuid
import zlib
from datetime import datetime, timedelta, timezone

import pytest
import requests

from connectors import base, matrix
from connectors.base import AuthFailed, MediaFile, Post, RateLimited, Rejected, Transient
from connectors.http import guarded_session
from connectors.matrix import MatrixConnector
from connectors.registry import connector_class
from tests.fakes.wsgi_thread import serve_wsgi

pytestmark = pytest.mark.slow


def png(width: int = 2, height: int = 2) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + b"\xff\x80\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def key() -> str:
    return f"inst-{uuid.uuid4().hex[:8]}:review:0"


def connector(synapse, room_id=None, **http_args) -> MatrixConnector:
    http = guarded_session([synapse.url], **({"allow_private": True} | http_args))
    return MatrixConnector("room", {"homeserver": synapse.url, "room_id": room_id or synapse.room_id},
                           synapse.bot.credentials, http)


def room_events(synapse, limit=50) -> list[dict]:
    """The room as alice sees it, oldest first."""
    body = synapse.client_api(synapse.alice, "GET", f"/v3/rooms/{synapse.room_id}/messages",
                              params={"dir": "b", "limit": limit})
    return body["chunk"][::-1]


def send_as_alice(synapse, event_type: str, content: dict) -> str:
    path = f"/v3/rooms/{synapse.room_id}/send/{event_type}/{uuid.uuid4().hex}"
    return synapse.client_api(synapse.alice, "PUT", path, json=content)["event_id"]


def thread_reply(root: str, text: str) -> dict:
    return {"msgtype": "m.text", "body": text,
            "m.relates_to": {"rel_type": "m.thread", "event_id": root, "is_falling_back": True,
                             "m.in_reply_to": {"event_id": root}}}


def test_registered_with_capabilities():
    assert connector_class("matrix") is MatrixConnector
    assert {base.MEDIA, base.REPLIES, base.REACTIONS, base.MENTIONS, base.NATIVE_IDEMPOTENCY} \
        <= MatrixConnector.capabilities
    assert base.POLL not in MatrixConnector.capabilities


def test_publish_text_and_image(synapse):
    image = png()
    post = Post(key=key(), text="Invoice 42 <scan> attached", link="https://cafe.example/t/1",
                media=(MediaFile(image, "image/png", "scan.png", "scan of invoice 42"),))
    ref = connector(synapse).publish(post)
    assert ref.remote_id.startswith("$") and ref.extra["room_id"] == synapse.room_id
    assert ref.url == f"https://matrix.to/#/{synapse.room_id}/{ref.remote_id}"
    events = {e["event_id"]: e for e in room_events(synapse)}
    text = events[ref.remote_id]
    assert text["sender"] == synapse.bot.user_id
    assert text["content"]["body"] == "Invoice 42 <scan> attached\n\nhttps://cafe.example/t/1"
    assert "&lt;scan&gt;" in text["content"]["formatted_body"]
    assert text["content"][matrix.KEY_FIELD] == post.key
    (image_event_id,) = ref.extra["media_event_ids"]
    content = events[image_event_id]["content"]
    assert content["msgtype"] == "m.image" and content["body"] == "scan of invoice 42"
    assert content["info"] == {"mimetype": "image/png", "size": len(image)}
    server_name, media_id = content["url"].removeprefix("mxc://").split("/")
    downloaded = requests.get(f"{synapse.url}/_matrix/client/v1/media/download/{server_name}/{media_id}",
                              headers={"Authorization": f"Bearer {synapse.alice.access_token}"}, timeout=20)
    assert downloaded.content == image


def test_same_key_posts_once(synapse):
    channel = connector(synapse)
    post = Post(key=key(), text="Status: shipped")
    first, second = channel.publish(post), channel.publish(post)
    assert first.remote_id == second.remote_id
    assert [e["event_id"] for e in room_events(synapse)
            if e["content"].get(matrix.KEY_FIELD) == post.key] == [first.remote_id]
    assert channel.find_published(post, datetime.now(timezone.utc) - timedelta(minutes=5)).remote_id \
        == first.remote_id
    assert channel.find_published(Post(key=key(), text="never sent"),
                                  datetime.now(timezone.utc) - timedelta(minutes=5)) is None


def test_thread_reply_and_reaction_are_reviews(synapse):
    channel = connector(synapse)
    ref = channel.publish(Post(key=key(), text="Approve the budget?"))
    reply_id = send_as_alice(synapse, "m.room.message", thread_reply(ref.remote_id, "approve"))
    like_id = send_as_alice(synapse, "m.reaction", {"m.relates_to": {
        "rel_type": "m.annotation", "event_id": ref.remote_id, "key": "👍"}})
    page = channel.fetch_reactions(ref, None)
    assert [(r.kind, r.author_id, r.text, r.emoji, r.remote_id) for r in page.items] == [
        ("reply", synapse.alice.user_id, "approve", None, reply_id),
        ("emoji", synapse.alice.user_id, None, "👍", like_id)]
    assert all(r.at is not None for r in page.items)

    again = channel.fetch_reactions(ref, page.cursor)
    assert again.items == [] and again.cursor == page.cursor
    later_id = send_as_alice(synapse, "m.room.message", thread_reply(ref.remote_id, "lgtm"))
    thumbs_down = send_as_alice(synapse, "m.reaction", {"m.relates_to": {
        "rel_type": "m.annotation", "event_id": ref.remote_id, "key": "👎"}})
    newer = channel.fetch_reactions(ref, page.cursor)
    assert [(r.remote_id, r.text or r.emoji) for r in newer.items] == [(later_id, "lgtm"), (thumbs_down, "👎")]
    assert newer.cursor != page.cursor


def test_image_reply_comes_with_its_bytes(synapse):
    channel = connector(synapse)
    ref = channel.publish(Post(key=key(), text="Send a photo of the meter"))
    image = png(3, 1)
    upload = requests.post(f"{synapse.url}/_matrix/media/v3/upload?filename=meter.png", data=image, timeout=20,
                           headers={"Authorization": f"Bearer {synapse.alice.access_token}",
                                    "Content-Type": "image/png"})
    mxc = upload.json()["content_uri"]
    content = {"msgtype": "m.image", "body": "meter.png", "url": mxc,
               "info": {"mimetype": "image/png", "size": len(image)},
               "m.relates_to": thread_reply(ref.remote_id, "")["m.relates_to"]}
    send_as_alice(synapse, "m.room.message", content)
    (reply,) = channel.fetch_reactions(ref, None).items
    assert reply.kind == "reply" and reply.author_id == synapse.alice.user_id
    assert reply.media[0].content == image and reply.media[0].content_type == "image/png"


def test_reply_to_goes_into_the_thread(synapse):
    channel = connector(synapse)
    ref = channel.publish(Post(key=key(), text="Review please"))
    alice_reply = send_as_alice(synapse, "m.room.message", thread_reply(ref.remote_id, "why?"))
    answer = channel.publish(Post(key=key(), text="Because", reply_to=alice_reply))
    relation = {e["event_id"]: e for e in room_events(synapse)}[answer.remote_id]["content"]["m.relates_to"]
    assert relation["rel_type"] == "m.thread" and relation["event_id"] == ref.remote_id  # the thread's root
    assert relation["m.in_reply_to"] == {"event_id": alice_reply}
    assert channel.fetch_reactions(ref, None).items[-1].text == "why?"  # our own answer is not a review


def test_inbound_mentions(synapse):
    channel = connector(synapse)
    send_as_alice(synapse, "m.room.message", {"msgtype": "m.text", "body": f"old {synapse.bot.user_id}"})
    posts, cursor = channel.inbound(None)
    assert posts == [] and cursor  # starts from now
    mention = send_as_alice(synapse, "m.room.message", {
        "msgtype": "m.text", "body": "cafe: start the expense process", "m.mentions": {
            "user_ids": [synapse.bot.user_id]}})
    send_as_alice(synapse, "m.room.message", {"msgtype": "m.text", "body": "just chatting"})
    plain = send_as_alice(synapse, "m.room.message", {"msgtype": "m.text", "body": f"{synapse.bot.user_id} hi"})
    posts, cursor2 = channel.inbound(cursor)
    assert [(p.remote_id, p.author_id) for p in posts] == [(mention, synapse.alice.user_id),
                                                           (plain, synapse.alice.user_id)]
    assert posts[0].text == "cafe: start the expense process" and posts[0].url.endswith(mention)
    assert channel.inbound(cursor2)[0] == []


def test_inbound_catches_up_past_a_limited_timeline(synapse, monkeypatch):
    channel = connector(synapse)
    _, cursor = channel.inbound(None)
    monkeypatch.setattr(matrix, "TIMELINE_LIMIT", 2)
    sent = [send_as_alice(synapse, "m.room.message", {"msgtype": "m.text", "body": f"{synapse.bot.user_id} #{n}"})
            for n in range(5)]
    posts, _ = channel.inbound(cursor)
    assert [p.remote_id for p in posts] == sent


def test_host_not_in_channel_is_refused(synapse):
    other = MatrixConnector("room", {"homeserver": synapse.url, "room_id": synapse.room_id},
                            synapse.bot.credentials, guarded_session(["matrix.example.org"]))
    with pytest.raises(Rejected, match="not a host of this channel"):
        other.publish(Post(key=key(), text="x"))
    with pytest.raises(Rejected, match="private address"):
        connector(synapse, allow_private=False).publish(Post(key=key(), text="x"))


def test_auth_errors(synapse):
    revoked = MatrixConnector("room", {"homeserver": synapse.url, "room_id": synapse.room_id},
                              {**synapse.bot.credentials, "access_token": "syt_revoked"},
                              guarded_session([synapse.url], allow_private=True))
    with pytest.raises(AuthFailed, match="M_UNKNOWN_TOKEN"):
        revoked.publish(Post(key=key(), text="x"))
    alone = synapse.client_api(synapse.alice, "POST", "/v3/createRoom", json={"preset": "private_chat"})["room_id"]
    with pytest.raises(AuthFailed, match="M_FORBIDDEN"):
        connector(synapse, room_id=alone).publish(Post(key=key(), text="x"))


def test_token_never_logged(synapse, caplog):
    caplog.set_level(logging.DEBUG)
    channel = connector(synapse)
    ref = channel.publish(Post(key=key(), text="log check", media=(MediaFile(png(), "image/png", "a.png"),)))
    channel.fetch_reactions(ref, None)
    channel.inbound(channel.inbound(None)[1])
    assert synapse.bot.access_token not in caplog.text
    assert synapse.bot.access_token not in repr(channel)


class FakeHomeserver:
    """Answers every request with one scripted response, to see how errors map (no sleeping)."""

    def __init__(self, status: int, body: dict | None = None, headers: list | None = None):
        self.status, self.body, self.headers, self.calls = status, body or {}, headers or [], 0

    def __call__(self, environ, start_response):
        self.calls += 1
        raw = json.dumps(self.body).encode()
        start_response(f"{self.status} X", [("Content-Type", "application/json"), *self.headers])
        return [raw]


def fake_connector(url: str) -> MatrixConnector:
    return MatrixConnector("room", {"homeserver": url, "room_id": "!r:cafe.test"},
                           {"user_id": "@cafe:cafe.test", "device_id": "D", "access_token": "syt_fake"},
                           guarded_session([url], allow_private=True))


def test_rate_limit_is_raised_not_slept():
    app = FakeHomeserver(429, {"errcode": "M_LIMIT_EXCEEDED", "error": "Too many", "retry_after_ms": 4000})
    with serve_wsgi(app) as url:
        started = time.monotonic()
        with pytest.raises(RateLimited) as info:
            fake_connector(url).publish(Post(key="k", text="x"))
    assert time.monotonic() - started < 2 and app.calls == 1
    delay = info.value.retry_at - datetime.now(timezone.utc)
    assert timedelta(seconds=2) < delay <= timedelta(seconds=4)


@pytest.mark.parametrize(("status", "body", "error"), [
    (502, {}, Transient), (400, {"errcode": "M_BAD_JSON", "error": "bad"}, Rejected),
    (403, {"errcode": "M_FORBIDDEN", "error": "not in room"}, AuthFailed)])
def test_error_mapping(status, body, error):
    with serve_wsgi(FakeHomeserver(status, body)) as url, pytest.raises(error):
        fake_connector(url).publish(Post(key="k", text="x"))


def test_redirect_to_another_host_is_refused():
    app = FakeHomeserver(307, {}, [("Location", "http://localhost:9/elsewhere")])
    with serve_wsgi(app) as url, pytest.raises(Rejected, match="not a host of this channel"):
        fake_connector(url).publish(Post(key="k", text="x"))


def test_unreachable_homeserver_is_transient():
    with serve_wsgi(FakeHomeserver(200)) as url:
        pass
    with pytest.raises(Transient):
        fake_connector(url).publish(Post(key="k", text="x"))
