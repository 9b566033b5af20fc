"""The built-in feed through the REST API: posting, following, my feed, comments, likes, access."""

from __future__ import annotations

import pytest

from server.services.errors import BadRequest
from server.social import feed
from tests.api.engine_support import diagram

FEED = "/api/v1/feed"


def post(cafe, stream: str, text: str, **fields) -> int:
    with cafe.db.transaction() as session:
        return feed.post_item(session, stream, fields.pop("kind", "status"), text, **fields).id


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.get_json(silent=True)
    return response.get_json() if status != 204 else None


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_json()
    assert response.headers["Content-Type"] == "application/problem+json"
    return response.get_json()


def texts(page: dict) -> list[str]:
    return [item["text"] for item in page["items"]]


def make_channel(admin, name: str) -> None:
    """Configure a channel (a webhook) through the API: only then may its stream be followed."""
    ok(admin.post("/api/v1/channels", json={"name": name, "kind": "webhook", "settings": {},
                                            "credentials": {"url": f"https://{name}.example/hook"}}), 201)


def test_my_feed_has_followed_streams_and_my_own_newest_first(cafe, admin_api, user_api):
    alice = user_api("alice")
    make_channel(admin_api, "news")
    assert ok(alice.post("/api/v1/follows", json={"stream": "definition:orders"}), 201)["stream"] == "definition:orders"
    ok(alice.post("/api/v1/follows", json={"stream": "definition:orders"}), 201)  # twice is once
    ok(alice.post("/api/v1/follows", json={"stream": "channel:news"}), 201)
    assert [f["stream"] for f in ok(alice.get("/api/v1/follows"))["items"]] == ["channel:news", "definition:orders"]

    post(cafe, "definition:orders", "order 1 shipped")
    post(cafe, "definition:invoices", "invoice sent")  # not followed
    post(cafe, "user:alice", "welcome, alice", actor="system")
    post(cafe, "channel:news", "release 2.0", title="Release")
    post(cafe, "user:bob", "bob's own")  # someone else's stream
    post(cafe, "definition:orders", "order 2 shipped")

    page = ok(alice.get(FEED))
    assert texts(page) == ["order 2 shipped", "release 2.0", "welcome, alice", "order 1 shipped"]
    assert page["next_before"] is None
    first = page["items"][0]
    assert first["stream"] == "definition:orders" and first["kind"] == "status"
    assert first["likes"] == 0 and first["liked"] is False and first["comments"] == []
    assert page["items"][1]["title"] == "Release"

    # cursor pagination: `before` the last id of the previous page
    one = ok(alice.get(f"{FEED}?limit=3"))
    assert texts(one) == texts(page)[:3] and one["next_before"] == one["items"][-1]["id"]
    two = ok(alice.get(f"{FEED}?limit=3&before={one['next_before']}"))
    assert texts(two) == ["order 1 shipped"] and two["next_before"] is None

    assert ok(alice.delete("/api/v1/follows", json={"stream": "channel:news"}), 204) is None
    assert "release 2.0" not in texts(ok(alice.get(FEED)))
    assert alice.delete("/api/v1/follows", json={"stream": "channel:news"}).status_code == 204  # idempotent


def test_one_stream_and_its_validation(cafe, user_api, anonymous_api):
    alice = user_api("alice")
    for n in range(5):
        post(cafe, "definition:orders", f"item {n}")
    page = ok(alice.get("/api/v1/streams/definition:orders?limit=2"))
    assert texts(page) == ["item 4", "item 3"]
    page = ok(alice.get(f"/api/v1/streams/definition:orders?limit=2&before={page['next_before']}"))
    assert texts(page) == ["item 2", "item 1"]
    assert ok(alice.get("/api/v1/streams/channel:nothing-yet"))["items"] == []
    assert "not a stream" in problem(alice.get("/api/v1/streams/orders"), 400)["detail"]
    problem(alice.post("/api/v1/follows", json={"stream": "bogus:x"}), 400)
    problem(alice.post("/api/v1/follows", json={"stream": "definition:x", "extra": 1}), 422)
    problem(alice.get(f"{FEED}?limit=0"), 422)
    problem(anonymous_api.get(FEED), 401)
    problem(anonymous_api.get("/api/v1/streams/definition:orders"), 401)


def test_comments_and_likes_one_per_user(cafe, user_api):
    alice, bob = user_api("alice"), user_api("bob")
    item_id = post(cafe, "definition:orders", "order 7 is late")
    url = f"{FEED}/items/{item_id}"

    assert ok(alice.post(url + "/like"))["likes"] == 1
    liked = ok(alice.post(url + "/like"))  # again: still one
    assert liked["likes"] == 1 and liked["liked"] is True
    assert ok(bob.post(url + "/like"))["likes"] == 2
    assert ok(bob.get(url))["liked"] is True
    unliked = ok(alice.delete(url + "/like"))
    assert unliked["likes"] == 1 and unliked["liked"] is False
    assert ok(alice.delete(url + "/like"))["likes"] == 1  # unliking again changes nothing

    first = ok(alice.post(url + "/comments", json={"text": "on it"}), 201)
    assert first["author"] == "alice" and first["kind"] == "comment" and first["item_id"] == item_id
    ok(bob.post(url + "/comments", json={"text": "thanks"}), 201)
    problem(bob.post(url + "/comments", json={"text": ""}), 422)
    problem(bob.post(url + "/comments", json={"text": "   "}), 400)
    item = ok(bob.get(url))
    assert [(c["author"], c["text"]) for c in item["comments"]] == [("alice", "on it"), ("bob", "thanks")]
    problem(bob.get(f"{FEED}/items/999999"), 404)
    problem(bob.post(f"{FEED}/items/not-a-number/like"), 404)
    problem(bob.get(f"{FEED}/items/{2**40}"), 404)  # beyond the 32-bit id column: not a database error
    assert [i["id"] for i in ok(bob.get(f"/api/v1/streams/definition:orders?before={2**40}"))["items"]] == [item_id]


def test_instance_streams_follow_instance_visibility(cafe, admin_api, user_api):
    admin_api.deploy(diagram("claims.bpmn"))
    carl = user_api("carl")  # a candidate of the instance's task
    otto = user_api("otto")  # nothing to do with it
    instance = admin_api.start("claims")
    stream = f"instance:{instance['id']}"
    with cafe.db.transaction() as session:
        from server.models import ProcessInstance
        row = session.get(ProcessInstance, instance["id"])
        items = feed.post_to_instance_streams(session, row, "status", "claim received", public=True)
        assert [i.stream for i in items] == [stream, "definition:claims"]
        assert [i.public for i in items] == [False, True]
        assert all(i.instance_id == instance["id"] for i in items)
        instance_item = items[0].id

    assert texts(ok(carl.get(f"/api/v1/streams/{stream}"))) == ["claim received"]
    assert texts(ok(admin_api.get(f"/api/v1/streams/{stream}"))) == ["claim received"]
    assert "no stream" in problem(otto.get(f"/api/v1/streams/{stream}"), 404)["detail"]
    problem(otto.post("/api/v1/follows", json={"stream": stream}), 404)
    problem(otto.get(f"{FEED}/items/{instance_item}"), 404)
    problem(otto.post(f"{FEED}/items/{instance_item}/like"), 404)
    problem(otto.post(f"{FEED}/items/{instance_item}/comments", json={"text": "hi"}), 404)
    problem(otto.get(f"/api/v1/streams/instance:{'0' * 36}"), 404)
    # the definition's stream is open to every signed-in user
    assert texts(ok(otto.get("/api/v1/streams/definition:claims"))) == ["claim received"]

    # following both the case and the process shows the post once (the instance's copy)
    ok(carl.post("/api/v1/follows", json={"stream": stream}), 201)
    ok(carl.post("/api/v1/follows", json={"stream": "definition:claims"}), 201)
    page = ok(carl.get(FEED))
    assert [(i["stream"], i["text"]) for i in page["items"]] == [(stream, "claim received")]


def test_user_streams_are_for_their_user_and_admins(cafe, admin_api, user_api):
    alice, bob = user_api("alice"), user_api("bob")
    post(cafe, "user:alice", "for alice")
    assert texts(ok(alice.get("/api/v1/streams/user:alice"))) == ["for alice"]
    assert texts(ok(admin_api.get("/api/v1/streams/user:alice"))) == ["for alice"]
    problem(bob.get("/api/v1/streams/user:alice"), 404)
    problem(bob.post("/api/v1/follows", json={"stream": "user:alice"}), 404)
    assert texts(ok(bob.get(FEED))) == []


def test_following_an_unknown_channel_or_user_is_404_as_for_an_instance(cafe, admin_api, user_api):
    alice = user_api("alice")
    unknown = [(alice, "channel:nowhere", "no channel 'nowhere'"), (admin_api, "channel:nowhere", "no channel"),
               (admin_api, "user:nobody", "no user 'nobody'"), (alice, "user:nobody", "no stream"),
               (admin_api, f"instance:{'0' * 36}", "no stream"), (alice, f"instance:{'0' * 36}", "no stream")]
    for api, stream, named in unknown:
        assert named in problem(api.post("/api/v1/follows", json={"stream": stream}), 404)["detail"], stream
    for api in (alice, admin_api):  # nothing was stored
        assert ok(api.get("/api/v1/follows"))["items"] == []

    # once they exist, they may be followed (the built-in feed channel always exists)
    make_channel(admin_api, "nowhere")
    user_api("nobody")
    ok(alice.post("/api/v1/follows", json={"stream": "channel:nowhere"}), 201)
    ok(alice.post("/api/v1/follows", json={"stream": "channel:feed"}), 201)
    ok(alice.post("/api/v1/follows", json={"stream": "user:alice"}), 201)
    ok(admin_api.post("/api/v1/follows", json={"stream": "user:nobody"}), 201)
    problem(alice.post("/api/v1/follows", json={"stream": "user:nobody"}), 404)  # someone else's, as before
    assert [f["stream"] for f in ok(alice.get("/api/v1/follows"))["items"]] == [
        "channel:feed", "channel:nowhere", "user:alice"]
    # a process may still be followed before it is deployed
    ok(alice.post("/api/v1/follows", json={"stream": "definition:not_deployed_yet"}), 201)


def test_post_item_rules(cafe):
    with cafe.db.transaction() as session:
        with pytest.raises(BadRequest):
            feed.post_item(session, "instance:abc", "status", "x", public=True)
        with pytest.raises(BadRequest):
            feed.post_item(session, "nowhere", "status", "x")
        item = feed.post_item(session, "instance:abc", "status", "x", media_ids=["m1"], link="https://x.test/1")
        assert item.instance_id == "abc" and item.id and item.media_ids == ["m1"]
