"""The Mastodon connector with the real Mastodon.py against a local stateful fake on a real socket."""

from __future__ import annotations

import io
import logging
import socket
from datetime import datetime, timedelta, timezone

import pytest
from PIL import Image

from connectors import base
from connectors.base import AuthFailed, Poll, Post, RateLimited, Rejected, Transient
from connectors.http import GuardedSession, HostNotAllowed, guarded_session
from connectors.mastodon import MastodonConnector, invisible_marker
from connectors.media import check_image
from connectors.registry import connector_class
from tests.fakes.mastodon import FakeMastodon

TOKEN = "mtok-S3CRET-7c1d9e"
LINK = "https://cafe.example/tasks/42"


@pytest.fixture
def fake():
    fake = FakeMastodon()
    with fake.serving():
        fake.me = fake.add_account("cafe", token=TOKEN)
        fake.people = {name: fake.add_account(name) for name in ("bob", "carol", "dave", "erin")}
        yield fake


def connect(fake: FakeMastodon, http: GuardedSession | None = None, **settings) -> MastodonConnector:
    http = http or guarded_session([fake.base_url], allow_private=True)
    return MastodonConnector("masto", {"base_url": fake.base_url, **settings}, {"access_token": TOKEN}, http)


def png(colour: str = "orange") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(out, format="PNG")
    return out.getvalue()


def test_registered_with_its_capabilities():
    cls = connector_class("mastodon")
    assert cls is MastodonConnector
    assert {base.MEDIA, base.POLL, base.REPLIES, base.LIKES, base.MENTIONS, base.NATIVE_IDEMPOTENCY,
            base.DIRECT} <= cls.capabilities
    assert MastodonConnector.hosts({"base_url": "https://social.example/"}) == ["social.example"]


def test_publish_text(fake):
    ref = connect(fake, visibility="unlisted").publish(Post(key="i1:announce:0", text="Order 42 shipped", link=LINK))

    [sent] = fake.received("POST", "/api/v1/statuses")
    assert sent.header("Authorization") == f"Bearer {TOKEN}"
    assert sent.header("Idempotency-Key") == "i1:announce:0"
    assert sent.form["status"] == [f"{invisible_marker('i1:announce:0')}Order 42 shipped\n\n{LINK}"]
    assert sent.form["visibility"] == ["unlisted"]
    assert ref.channel == "masto" and ref.remote_id in fake.statuses
    assert ref.url == f"{fake.base_url}/@cafe/{ref.remote_id}"
    assert not fake.received(path="/api/v1/instance")  # the pinned version means no instance look-up


def test_publish_with_image(fake):
    image = check_image(png(), "receipt.png").as_media("a receipt")
    ref = connect(fake).publish(Post(key="i1:photo:0", text="Here is the receipt", media=(image,)))

    [upload] = fake.received("POST", "/api/v2/media")
    assert upload.files["file"] == ("receipt.png", "image/png", image.content)
    assert upload.form["description"] == ["a receipt"]
    [media_id] = fake.media
    [status] = fake.received("POST", "/api/v1/statuses")
    assert status.form["media_ids[]"] == [media_id]
    assert fake.statuses[ref.remote_id]["media_ids"] == [media_id]
    assert fake.media[media_id]["bytes"] == image.content


def test_publish_poll_and_reply(fake):
    connector = connect(fake)
    root = connector.publish(Post(key="i2:ask:0", text="Ship it?", poll=Poll(("approve", "reject"), 3600)))
    reply = connector.publish(Post(key="i2:ask:1", text="Reminder: vote please", reply_to=root.remote_id))

    first, second = fake.received("POST", "/api/v1/statuses")
    assert first.json["poll"] == {"options": ["approve", "reject"], "expires_in": 3600, "multiple": False,
                                  "hide_totals": False}
    assert root.extra["poll_id"] == fake.statuses[root.remote_id]["poll_id"]
    assert second.form["in_reply_to_id"] == [root.remote_id]
    assert fake.statuses[reply.remote_id]["in_reply_to_id"] == root.remote_id


def test_poll_with_media_is_refused_before_anything_is_sent(fake):
    image = check_image(png(), "a.png").as_media()
    with pytest.raises(Rejected, match="4.6"):
        connect(fake).publish(Post(key="k", text="x", media=(image,), poll=Poll(("a", "b"), 600)))
    assert not fake.requests


def test_same_idempotency_key_posts_once(fake):
    connector = connect(fake)
    post = Post(key="i3:announce:0", text="Only once", link=LINK)
    first, second = connector.publish(post), connector.publish(post)

    assert first == second and len(fake.statuses) == 1
    assert [r.header("Idempotency-Key") for r in fake.received("POST", "/api/v1/statuses")] == [post.key] * 2


def test_find_published_looks_back_through_pages(fake):
    connector = connect(fake)
    not_before = datetime.now(timezone.utc) - timedelta(seconds=5)
    post = Post(key="i4:announce:0", text="Status for order 4", link=LINK)
    earlier = connector.publish(post)
    for n in range(50):  # push it to the second page of 40
        fake.post(fake.me["id"], f"unrelated {n}")

    assert connector.find_published(post, not_before) == earlier
    assert connector.find_published(Post(key="i4:announce:1", text="Status for order 4", link=LINK),
                                    not_before) is None
    assert connector.find_published(post, datetime.now(timezone.utc) + timedelta(seconds=5)) is None
    pages = fake.received("GET", f"/api/v1/accounts/{fake.me['id']}/statuses")
    assert pages[1].query["max_id"] and pages[0].query["limit"] == ["40"]


def test_find_published_falls_back_to_the_link_where_markers_are_stripped(fake):
    fake.strip_invisible = True
    connector = connect(fake)
    post = Post(key="i5:announce:0", text="Order 5", link=LINK)
    earlier = connector.publish(post)
    assert connector.find_published(post, datetime.now(timezone.utc) - timedelta(minutes=1)) == earlier


def test_reactions_replies_likes_poll_and_cursor(fake):
    connector = connect(fake)
    ref = connector.publish(Post(key="i6:review:0", text="Approve the budget?", poll=Poll(("approve", "reject"), 600)))
    people = fake.people
    bob = fake.post(people["bob"]["id"], "@cafe Approve 👍", in_reply_to_id=ref.remote_id)
    fake.post(people["carol"]["id"], "@cafe no, reject: the <numbers> & dates are off", in_reply_to_id=ref.remote_id)
    fake.post(people["dave"]["id"], "@bob lgtm too", in_reply_to_id=bob["id"])  # a reply to a reply
    fake.favourite(people["bob"]["id"], ref.remote_id)
    fake.favourite(people["erin"]["id"], ref.remote_id)
    fake.vote(ref.remote_id, 0, voters=3)
    fake.vote(ref.remote_id, 1, voters=1)

    page = connector.fetch_reactions(ref, None)

    replies = [(r.author_id, r.author_handle, r.text) for r in page.items if r.kind == "reply"]
    assert replies == [(people["bob"]["id"], "bob", "@cafe Approve 👍"),
                       (people["carol"]["id"], "carol", "@cafe no, reject: the <numbers> & dates are off"),
                       (people["dave"]["id"], "dave", "@bob lgtm too")]
    assert all(r.at.tzinfo is not None and r.remote_id for r in page.items if r.kind == "reply")
    assert {r.author_id for r in page.items if r.kind == "like"} == {people["bob"]["id"], people["erin"]["id"]}
    assert page.counts == {"replies": 2, "likes": 2, "reblogs": 0}
    assert page.poll == base.PollResult({"approve": 3, "reject": 1}, closed=False)
    assert page.cursor == max((r.remote_id for r in page.items if r.kind == "reply"), key=int)

    later = fake.post(people["erin"]["id"], "@cafe approve", in_reply_to_id=ref.remote_id)
    own = connector.publish(Post(key="i6:review:1", text="Reminder: approve or reject", reply_to=ref.remote_id))
    fake.favourite(fake.me["id"], ref.remote_id)
    fake.expire_poll(ref.remote_id)
    second = connector.fetch_reactions(ref, page.cursor)
    assert [(r.kind, r.remote_id) for r in second.items if r.kind == "reply"] == [("reply", later["id"])]
    assert len([r for r in second.items if r.kind == "like"]) == 2  # likes are state: always all of them
    assert second.cursor == own.remote_id and second.poll.closed  # our own reply: passed over, not reported

    third = connector.fetch_reactions(ref, second.cursor)
    assert not [r for r in third.items if r.kind == "reply"] and third.cursor == second.cursor


def test_inbound_mentions_since_cursor(fake):
    connector = connect(fake)
    people = fake.people
    fake.post(people["bob"]["id"], "@cafe start order 7 please")
    fake.post(people["dave"]["id"], "nothing for the cafe here")
    fake.post(people["carol"]["id"], "@cafe and order 8")

    posts, cursor = connector.inbound(None)
    assert [(p.author_handle, p.text) for p in posts] == [("bob", "@cafe start order 7 please"),
                                                          ("carol", "@cafe and order 8")]
    assert posts[0].author_id == people["bob"]["id"] and posts[0].url.endswith(posts[0].remote_id)
    assert fake.received("GET", "/api/v1/notifications")[0].query["types[]"] == ["mention"]

    fake.post(people["erin"]["id"], "@cafe order 9")
    newer, cursor2 = connector.inbound(cursor)
    assert [p.text for p in newer] == ["@cafe order 9"] and int(cursor2) > int(cursor)
    assert connector.inbound(cursor2) == ([], cursor2)


def test_rate_limit_raises_with_the_reset_time(fake):
    reset = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(minutes=3)
    fake.rate_limit_next(reset, path="/api/v1/statuses")
    with pytest.raises(RateLimited) as raised:
        connect(fake).publish(Post(key="k", text="hello"))
    assert abs((raised.value.retry_at - reset).total_seconds()) < 3
    assert len(fake.received("POST", "/api/v1/statuses")) == 1  # thrown, not slept and retried


@pytest.mark.parametrize("status, error", [(500, Transient), (502, Transient), (503, Transient), (401, AuthFailed),
                                           (403, AuthFailed), (422, Rejected), (404, Rejected)])
def test_http_errors_are_mapped(fake, status, error):
    fake.fail_next(status, path="/api/v1/statuses")
    with pytest.raises(error):
        connect(fake).publish(Post(key="k", text="hello"))


@pytest.mark.parametrize("answer", [{"weird": 1}, {"error": "Service temporarily in maintenance"}, {"id": ""}])
def test_a_success_without_an_id_is_transient(fake, answer):
    fake.fail_next(200, answer, method="POST", path="/api/v1/statuses")
    with pytest.raises(Transient, match="without the new post's id"):
        connect(fake).publish(Post(key="k-no-id", text="hello"))


def test_wrong_token_is_auth_failed(fake):
    connector = MastodonConnector("masto", {"base_url": fake.base_url}, {"access_token": "wrong"},
                                  guarded_session([fake.base_url], allow_private=True))
    with pytest.raises(AuthFailed):
        connector.fetch_reactions(base.PostRef("masto", "1"), None)


def test_unreachable_server_is_transient():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    connector = MastodonConnector("masto", {"base_url": closed}, {"access_token": TOKEN},
                                  guarded_session([closed], allow_private=True))
    with pytest.raises(Transient):
        connector.inbound(None)


def test_hosts_outside_the_channel_are_refused(fake):
    with pytest.raises(HostNotAllowed, match="not a host of this channel"):
        connect(fake, http=guarded_session(["social.example"])).publish(Post(key="k", text="hello"))
    with pytest.raises(HostNotAllowed, match="private address"):
        connect(fake, http=guarded_session([fake.base_url])).publish(Post(key="k", text="hello"))
    assert not fake.requests


def test_token_that_names_a_file_is_refused(fake, tmp_path):
    path = tmp_path / "token.txt"
    path.write_text("a-token\n")
    with pytest.raises(ValueError, match="not a path"):
        MastodonConnector("masto", {"base_url": fake.base_url}, {"access_token": str(path)}, guarded_session([]))


def test_credentials_never_logged(fake, caplog):
    caplog.set_level(logging.DEBUG)
    connector = connect(fake)
    image = check_image(png(), "a.png").as_media()
    ref = connector.publish(Post(key="log:1", text="hello", media=(image,)))
    fake.post(fake.people["bob"]["id"], "@cafe ok", in_reply_to_id=ref.remote_id)
    connector.fetch_reactions(ref, None)
    connector.inbound(None)
    fake.fail_next(500)
    with pytest.raises(Transient):
        connector.inbound(None)

    assert caplog.records  # urllib3 and friends did log at DEBUG
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert TOKEN not in logged
