"""Each stream as an Atom feed: parsed back with feedparser; public items for anyone, the rest signed in."""

from __future__ import annotations

import base64

import feedparser

from tests.social.test_feed import post

PUBLIC_URL = "http://127.0.0.1:5000"  # Settings' default: entry ids and links are built from it


def parse(response):
    assert response.status_code == 200, response.data[:500]
    assert response.mimetype == "application/atom+xml"
    parsed = feedparser.parse(response.data)
    assert not parsed.bozo, parsed.bozo_exception
    assert parsed.version == "atom10"
    return parsed


def test_public_items_of_a_definition_stream_for_anyone(cafe, anonymous_api, user_api):
    post(cafe, "definition:orders", "internal note")  # not public
    first = post(cafe, "definition:orders", "Order 17 is on its way\nto ACME", public=True, actor="bot",
                 link="https://shop.test/orders/17")
    second = post(cafe, "definition:orders", "Order 18 delivered", public=True, title="Delivered!",
                  media_ids=["abc123"], kind="image")

    response = anonymous_api.get("/feeds/definition:orders.atom")
    parsed = parse(response)
    assert parsed.feed.title == "Process orders — Process Café"
    assert parsed.feed.id == f"{PUBLIC_URL}/feeds/definition:orders.atom"
    assert any(link.rel == "self" and link.href == "http://localhost/feeds/definition:orders.atom"
               for link in parsed.feed.links)
    assert [e.title for e in parsed.entries] == ["Delivered!", "Order 17 is on its way"]
    newest, older = parsed.entries
    assert newest.id == f"{PUBLIC_URL}/feed/items/{second}"
    assert newest.link == f"{PUBLIC_URL}/feed/items/{second}"
    assert [t.term for t in newest.tags] == ["image"]
    assert any(link.rel == "enclosure" and link.href == f"{PUBLIC_URL}/api/v1/media/abc123" for link in newest.links)
    assert older.id == f"{PUBLIC_URL}/feed/items/{first}"
    assert older.link == "https://shop.test/orders/17"
    assert older.author == "bot"
    assert older.content[0].value == "Order 17 is on its way\nto ACME"
    assert response.headers["Cache-Control"].startswith("public")

    # a signed-in reader gets every item of the stream
    parsed = parse(user_api("alice").get("/feeds/definition:orders.atom"))
    assert [e.title for e in parsed.entries] == ["Delivered!", "Order 17 is on its way", "internal note"]


def test_conditional_get(cafe, anonymous_api):
    post(cafe, "channel:news", "hello", public=True)
    response = anonymous_api.get("/feeds/channel:news.atom")
    etag = response.headers["ETag"]
    again = anonymous_api.get("/feeds/channel:news.atom", headers={"If-None-Match": etag})
    assert again.status_code == 304
    post(cafe, "channel:news", "more", public=True)
    assert anonymous_api.get("/feeds/channel:news.atom", headers={"If-None-Match": etag}).status_code == 200


def test_private_streams_need_a_reader_who_may_see_them(cafe, app, anonymous_api, user_api):
    post(cafe, "user:alice", "for alice only")
    post(cafe, "instance:0000", "a case")
    alice = user_api("alice")

    for path in ("/feeds/user:alice.atom", "/feeds/instance:0000.atom"):
        refused = anonymous_api.get(path)
        assert refused.status_code == 401
        assert refused.headers["Content-Type"] == "application/problem+json"
        assert "Bearer" in refused.headers["WWW-Authenticate"]
        assert b"for alice" not in refused.data and b"a case" not in refused.data

    assert [e.title for e in parse(alice.get("/feeds/user:alice.atom")).entries] == ["for alice only"]
    basic = base64.b64encode(b"alice:password-alice").decode()
    by_basic = anonymous_api.get("/feeds/user:alice.atom", headers={"Authorization": f"Basic {basic}"})
    assert [e.title for e in parse(by_basic).entries] == ["for alice only"]
    assert by_basic.headers["Cache-Control"].startswith("private")

    assert user_api("bob").get("/feeds/user:alice.atom").status_code == 404
    assert alice.get("/feeds/instance:0000.atom").status_code == 404  # no such instance for alice
    wrong = anonymous_api.get("/feeds/definition:orders.atom", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401  # bad credentials are refused, not taken as anonymous
    assert anonymous_api.get("/feeds/nonsense.atom").status_code == 400


def test_empty_public_feed_is_still_valid(anonymous_api):
    parsed = parse(anonymous_api.get("/feeds/definition:nothing.atom"))
    assert parsed.entries == []


def test_characters_xml_cannot_carry_are_replaced_not_a_broken_feed(cafe, anonymous_api):
    """Item text comes from process data: one control character made every feed showing it a 500."""
    post(cafe, "definition:odd", "Delivery D\x01 for C\ufffe", public=True, actor="bot\x02", title="T\x1b")
    [entry] = parse(anonymous_api.get("/feeds/definition:odd.atom")).entries
    assert entry.content[0].value == "Delivery D\ufffd for C\ufffd"
    assert entry.title == "T\ufffd" and entry.author == "bot\ufffd"
