"""The built-in `feed` channel is listed and readable like any channel; changing, removing or
watching it is refused with a 400 that says it is built in. Before, those answered 404 "no channel
named 'feed'" right after GET /api/v1/channels had listed it."""

from __future__ import annotations

from tests.api.engine_support import problem

FEED = "/api/v1/channels/feed"
BUILT_IN = "the feed channel is built in: it cannot be changed, removed or watched"


def test_the_feed_is_listed_and_readable(admin_api):
    assert admin_api.get("/api/v1/channels").get_json()["items"][0]["name"] == "feed"
    assert admin_api.get(FEED).get_json()["kind"] == "feed"


def test_changing_removing_or_watching_the_feed_says_it_is_built_in(admin_api):
    attempts = [admin_api.patch(FEED, json={"enabled": False}), admin_api.delete(FEED),
                admin_api.post(f"{FEED}/watches", json={"message": "order_by_mention"})]
    for response in attempts:
        assert problem(response, 400)["detail"] == BUILT_IN
    assert admin_api.get(FEED).get_json()["enabled"] is True


def test_an_unknown_channel_is_still_a_404(admin_api):
    response = admin_api.patch("/api/v1/channels/nosuch", json={"enabled": False})
    assert problem(response, 404)["detail"] == "no channel named 'nosuch'"
