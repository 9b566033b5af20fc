"""The X connector with the real tweepy against a local stateful fake, reached by rewriting tweepy's
hard-coded hosts on the connector's own GuardedSession; the fake verifies every OAuth1 signature."""

from __future__ import annotations

import io
import logging
import socket
import time
from datetime import datetime, timedelta, timezone

import pytest
from PIL import Image

from connectors import base
from connectors.base import AuthFailed, Poll, Post, PostRef, RateLimited, Rejected, Transient
from connectors.http import GuardedSession, HostNotAllowed
from connectors.media import check_image
from connectors.registry import connector_class
from connectors.x import XConnector, invisible_marker
from tests.fakes.x import FakeX, RewriteAdapter

CREDENTIALS = {"consumer_key": "ck-CAFE-k3y", "consumer_secret": "cs-CAFE-S3CRET",
               "access_token": "1001-atCAFE-T0KEN", "access_token_secret": "ats-CAFE-S3CRET"}
LINK = "https://cafe.example/tasks/42"


@pytest.fixture
def fake():
    fake = FakeX()
    with fake.serving():
        fake.add_consumer(CREDENTIALS["consumer_key"], CREDENTIALS["consumer_secret"])
        fake.me = fake.add_user("cafe", "1001", CREDENTIALS["access_token"], CREDENTIALS["access_token_secret"])
        fake.people = {name: fake.add_user(name) for name in ("bob", "carol", "dave", "erin")}
        yield fake


def connect(fake: FakeX, hosts: list[str] | None = None, credentials: dict | None = None) -> XConnector:
    http = GuardedSession([*(hosts if hosts is not None else XConnector.hosts({})), "127.0.0.1"],
                          allow_private=True)  # the fake's host
    RewriteAdapter.mount_on(http, fake.base_url)
    return XConnector("x", {"username": "cafe"}, credentials or CREDENTIALS, http)


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "teal").save(out, format="JPEG")
    return out.getvalue()


def test_registered_with_its_capabilities():
    cls = connector_class("x")
    assert cls is XConnector
    assert {base.MEDIA, base.POLL, base.REPLIES, base.LIKES, base.MENTIONS} <= cls.capabilities
    assert base.NATIVE_IDEMPOTENCY not in cls.capabilities
    assert set(XConnector.hosts({})) == {"api.twitter.com", "api.x.com", "pbs.twimg.com"}
    assert logging.getLogger("tweepy").getEffectiveLevel() >= logging.INFO


def test_publish_text_through_tweepy_with_a_valid_signature(fake):
    ref = connect(fake).publish(Post(key="i1:announce:0", text="Order 42 shipped", link=LINK))

    [sent] = fake.received("POST", "/2/tweets")
    assert sent.header("X-Original-URL") == "https://api.twitter.com/2/tweets"
    assert sent.header("Authorization").startswith("OAuth ")  # and the fake verified it, or it would be a 401
    assert sent.json == {"text": f"{invisible_marker('i1:announce:0')}Order 42 shipped\n\n{LINK}"}
    assert ref == PostRef("x", ref.remote_id, f"https://x.com/cafe/status/{ref.remote_id}", {})
    assert fake.tweets[ref.remote_id]["author_id"] == "1001"


def test_publish_with_image_uploads_via_v2_media(fake):
    image = check_image(jpeg(), "receipt.jpg").as_media("a receipt")
    ref = connect(fake).publish(Post(key="i1:photo:0", text="Here is the receipt", media=(image,)))

    [upload] = fake.received("POST", "/2/media/upload")
    assert upload.header("X-Original-URL") == "https://api.x.com/2/media/upload"
    assert upload.files["media"] == ("receipt.jpg", "image/jpeg", image.content)
    assert upload.form["media_category"] == ["tweet_image"]
    [media_id] = fake.media
    [sent] = fake.received("POST", "/2/tweets")
    assert sent.json["media"] == {"media_ids": [media_id]}
    assert fake.tweets[ref.remote_id]["media_keys"] == [f"3_{media_id}"]


def test_publish_poll_and_reply(fake):
    connector = connect(fake)
    root = connector.publish(Post(key="i2:ask:0", text="Ship it?", poll=Poll(("approve", "reject"), 3600)))
    connector.publish(Post(key="i2:ask:1", text="Reminder: vote please", reply_to=root.remote_id))

    first, second = fake.received("POST", "/2/tweets")
    assert first.json["poll"] == {"options": ["approve", "reject"], "duration_minutes": 60}
    assert root.extra == {"poll": True}
    assert second.json["reply"] == {"in_reply_to_tweet_id": root.remote_id}


@pytest.mark.parametrize("poll, media, reason", [
    (Poll(("a", "b"), 600), True, "media to a poll"),
    (Poll(("a", "b"), 120), False, "5 minutes"),
    (Poll(("a",), 600), False, "2 to 4 options"),
])
def test_impossible_polls_are_refused_before_anything_is_sent(fake, poll, media, reason):
    image = (check_image(jpeg(), "a.jpg").as_media(),) if media else ()
    with pytest.raises(Rejected, match=reason):
        connect(fake).publish(Post(key="k", text="x", media=image, poll=poll))
    assert not fake.requests


def test_retry_without_look_up_is_a_duplicate_and_look_up_finds_the_first(fake):
    connector = connect(fake)
    not_before = datetime.now(timezone.utc) - timedelta(seconds=5)
    post = Post(key="i3:announce:0", text="Status for order 3", link=LINK)
    fake.tweet("1001", "an old tweet", created_at=not_before - timedelta(hours=1))
    first = connector.publish(post)
    for n in range(120):  # push it past the first page of 100
        fake.tweet("1001", f"unrelated {n}")

    with pytest.raises(Rejected, match="duplicate"):
        connector.publish(post)  # X has no idempotency key: only its duplicate check stops a second post
    assert connector.find_published(post, not_before) == PostRef("x", first.remote_id, first.url)
    assert connector.find_published(Post(key="i3:announce:1", text="Status for order 3", link=LINK),
                                    not_before) is None
    timeline = fake.received("GET", "/2/users/1001/tweets")
    assert timeline[0].query["start_time"] == [not_before.strftime("%Y-%m-%dT%H:%M:%SZ")]
    assert "pagination_token" in timeline[1].query


def test_find_published_matches_the_expanded_link_where_markers_are_stripped(fake):
    fake.strip_invisible = True
    connector = connect(fake)
    post = Post(key="i4:announce:0", text="Order 4", link=LINK)
    first = connector.publish(post)
    assert LINK not in fake.tweets[first.remote_id]["text"]  # X shows it as t.co
    found = connector.find_published(post, datetime.now(timezone.utc) - timedelta(minutes=1))
    assert found.remote_id == first.remote_id


def test_reactions_replies_likes_poll_and_cursor(fake):
    connector = connect(fake)
    ref = connector.publish(Post(key="i6:review:0", text="Approve the budget?", poll=Poll(("approve", "reject"), 600)))
    people = fake.people
    bob = fake.tweet(people["bob"]["id"], "@cafe Approve 👍", reply_to=ref.remote_id)
    fake.tweet(people["carol"]["id"], "@cafe no, reject", reply_to=ref.remote_id)
    fake.tweet(people["dave"]["id"], "@bob lgtm too", reply_to=bob["id"])
    fake.tweet(people["erin"]["id"], "a tweet in another conversation")
    fake.like(ref.remote_id, people["bob"]["id"])
    fake.like(ref.remote_id, people["erin"]["id"])
    fake.vote(ref.remote_id, "approve", 3)
    fake.vote(ref.remote_id, "reject", 1)

    page = connector.fetch_reactions(ref, None)

    replies = [(r.author_id, r.author_handle, r.text) for r in page.items if r.kind == "reply"]
    assert replies == [(people["bob"]["id"], "bob", "@cafe Approve 👍"),
                       (people["carol"]["id"], "carol", "@cafe no, reject"),
                       (people["dave"]["id"], "dave", "@bob lgtm too")]
    assert all(r.at.tzinfo is not None for r in page.items if r.kind == "reply")
    assert {(r.author_id, r.author_handle) for r in page.items if r.kind == "like"} == {
        (people["bob"]["id"], "bob"), (people["erin"]["id"], "erin")}
    assert page.counts == {"replies": 3, "likes": 2, "reposts": 0}
    assert page.poll == base.PollResult({"approve": 3, "reject": 1}, closed=False)
    [search] = fake.received("GET", "/2/tweets/search/recent")
    assert search.query["query"] == [f"conversation_id:{ref.remote_id}"]
    assert search.query["since_id"] == [ref.remote_id]

    later = fake.tweet(people["erin"]["id"], "@cafe approve", reply_to=ref.remote_id)
    own = connector.publish(Post(key="i6:review:1", text="Reminder: approve or reject", reply_to=ref.remote_id))
    fake.like(ref.remote_id, "1001")
    fake.close_poll(ref.remote_id)
    second = connector.fetch_reactions(ref, page.cursor)
    assert [r.remote_id for r in second.items if r.kind == "reply"] == [later["id"]]
    assert second.cursor == own.remote_id and second.poll.closed  # our own reply: passed over, not reported
    assert len([r for r in second.items if r.kind == "like"]) == 2
    assert fake.received("GET", "/2/tweets/search/recent")[1].query["since_id"] == [page.cursor]

    third = connector.fetch_reactions(ref, second.cursor)
    assert not [r for r in third.items if r.kind == "reply"] and third.cursor == second.cursor


def test_deleted_tweet_is_rejected(fake):
    with pytest.raises(Rejected, match="no longer exists"):
        connect(fake).fetch_reactions(PostRef("x", "1850000000000099999"), None)


def test_inbound_mentions_since_cursor(fake):
    connector = connect(fake)
    people = fake.people
    fake.tweet(people["bob"]["id"], "@cafe start order 7 please")
    fake.tweet(people["dave"]["id"], "nothing for the cafe here")
    fake.tweet(people["carol"]["id"], "@Cafe and order 8")

    posts, cursor = connector.inbound(None)
    assert [(p.author_handle, p.text) for p in posts] == [("bob", "@cafe start order 7 please"),
                                                          ("carol", "@Cafe and order 8")]
    assert posts[0].author_id == people["bob"]["id"] and posts[0].url == f"https://x.com/bob/status/{posts[0].remote_id}"

    fake.tweet(people["erin"]["id"], "@cafe order 9")
    newer, cursor2 = connector.inbound(cursor)
    assert [p.text for p in newer] == ["@cafe order 9"] and int(cursor2) > int(cursor)
    assert fake.received("GET", "/2/users/1001/mentions")[1].query["since_id"] == [cursor]
    assert connector.inbound(cursor2) == ([], cursor2)


def test_rate_limit_raises_with_the_reset_time(fake):
    reset = int(time.time()) + 600
    fake.rate_limit_next(reset, path="/2/tweets")
    with pytest.raises(RateLimited) as raised:
        connect(fake).publish(Post(key="k", text="hello"))
    assert raised.value.retry_at == datetime.fromtimestamp(reset, timezone.utc)
    assert len(fake.received("POST", "/2/tweets")) == 1  # raised, not slept and retried


def test_rate_limit_uses_the_exhausted_daily_cap_when_it_is_later(fake):
    reset, daily = int(time.time()) + 600, int(time.time()) + 20 * 3600
    fake.rate_limit_next(reset, **{"x-user-limit-24hour-remaining": "0", "x-user-limit-24hour-reset": str(daily)})
    with pytest.raises(RateLimited) as raised:
        connect(fake).publish(Post(key="k", text="hello"))
    assert raised.value.retry_at == datetime.fromtimestamp(daily, timezone.utc)

    fake.rate_limit_next(reset, **{"x-user-limit-24hour-remaining": "12", "x-user-limit-24hour-reset": str(daily)})
    with pytest.raises(RateLimited) as raised:
        connect(fake).publish(Post(key="k", text="hello"))
    assert raised.value.retry_at == datetime.fromtimestamp(reset, timezone.utc)


def test_rate_limit_on_media_upload(fake):
    reset = int(time.time()) + 900
    fake.rate_limit_next(reset, path="/2/media/upload")
    with pytest.raises(RateLimited):
        connect(fake).publish(Post(key="k", text="x", media=(check_image(jpeg(), "a.jpg").as_media(),)))
    assert not fake.received("POST", "/2/tweets")


@pytest.mark.parametrize("path", ["/2/tweets", "/2/media/upload"])
@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_transient(fake, path, status):
    fake.fail_next(status, path=path)
    with pytest.raises(Transient):
        connect(fake).publish(Post(key="k", text="x", media=(check_image(jpeg(), "a.jpg").as_media(),)))


@pytest.mark.parametrize("answer", [{"weird": 1}, {"data": {"text": "no id"}}, {"data": {"id": None}}])
def test_a_created_answer_without_an_id_is_transient(fake, answer):
    fake.fail_next(201, answer, method="POST", path="/2/tweets")
    with pytest.raises(Transient, match="without the new post's id"):
        connect(fake).publish(Post(key="k", text="hello"))


def test_auth_and_content_errors(fake):
    with pytest.raises(AuthFailed):  # the fake's signature check fails on a wrong secret
        connect(fake, credentials={**CREDENTIALS, "access_token_secret": "wrong"}).publish(Post(key="k", text="x"))
    fake.fail_next(403, {"title": "Forbidden", "detail": "Your client app is not configured with the appropriate "
                                                         "oauth1 app permissions for this endpoint."})
    with pytest.raises(AuthFailed):
        connect(fake).publish(Post(key="k", text="x"))
    with pytest.raises(Rejected, match="deleted or not visible"):
        connect(fake).publish(Post(key="k", text="x", reply_to="1850000000000099999"))
    fake.fail_next(400, {"errors": [{"message": "text is too long"}], "title": "Invalid Request"})
    with pytest.raises(Rejected, match="too long"):
        connect(fake).publish(Post(key="k", text="x"))


def test_unreachable_server_is_transient(fake):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    http = GuardedSession([*XConnector.hosts({}), "127.0.0.1"], allow_private=True)
    RewriteAdapter.mount_on(http, closed)
    with pytest.raises(Transient):
        XConnector("x", {}, CREDENTIALS, http).inbound(None)


def test_hosts_outside_the_channel_are_refused(fake):
    with pytest.raises(HostNotAllowed, match="api.twitter.com"):
        connect(fake, hosts=["social.example"]).publish(Post(key="k", text="hello"))
    with pytest.raises(HostNotAllowed, match="api.x.com"):  # the media upload host is not allowed here
        connect(fake, hosts=["api.twitter.com"]).publish(
            Post(key="k", text="x", media=(check_image(jpeg(), "a.jpg").as_media(),)))
    assert not fake.requests


def test_credentials_never_logged(fake, caplog):
    caplog.set_level(logging.DEBUG)
    connector = connect(fake)
    ref = connector.publish(Post(key="log:1", text="hello", media=(check_image(jpeg(), "a.jpg").as_media(),)))
    fake.tweet(fake.people["bob"]["id"], "@cafe ok", reply_to=ref.remote_id)
    connector.fetch_reactions(ref, None)
    connector.inbound(None)
    connector.find_published(Post(key="log:1", text="hello"), datetime.now(timezone.utc) - timedelta(minutes=1))
    fake.fail_next(401)
    with pytest.raises(AuthFailed):
        connector.inbound(None)

    assert caplog.records  # urllib3 and friends did log at DEBUG
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    for secret in CREDENTIALS.values():
        assert secret not in logged
