"""The feed in the browser: my followed streams, live; one item (the permalink that status posts
and Atom entries point to); comments and likes on items.

Live updates come from the same server-sent events as GET /api/v1/feed/events
(`EventStream(db, principal, after)` in server/api/feed_stream.py), served here for the session:
the API takes tokens only, and an EventSource cannot send one. The page names the newest item it
shows as `after`, so nothing posted between rendering and connecting is lost. For each event the
page fetches the item's card (`?partial=1`) so that live and rendered items look the same.
"""

from __future__ import annotations

from flask import Response, jsonify, render_template, request, url_for

from ..api.feed_stream import EventStream, followed, stream_limit
from ..context import cafe
from ..services import catalog
from ..services.errors import ServiceError
from ..social import feed, feed_events
from . import replies
from .blueprint import bp
from .guards import signed_in, user, whole_number

PAGE_SIZE = 30


def following(session) -> set[str]:
    return {f.stream for f in feed.follows(session, user())}


def follows_changed() -> None:
    """A live stream of this person switches to their new follows at once (as the API does)."""
    db, principal = cafe().db, user()
    feed_events.broker_for(db).follows_changed(principal.name, lambda: followed(db, principal))


def _before() -> int | None:
    return whole_number(request.args.get("before"))


@bp.get("/feed", endpoint="feed")
@signed_in
def feed_page():
    before = _before()
    with cafe().db.read() as session:
        items = feed.with_reactions(session, user(), feed.my_feed(session, user(), before, PAGE_SIZE))
        streams = feed.followed_streams(session, user())
        context = {"items": items, "streams": streams, "following": following(session),
                   "processes": catalog.definition_keys(session), "before": before,
                   "older": items[-1]["id"] if len(items) == PAGE_SIZE else None}
    return render_template("web/feed.html", **context)


@bp.get("/feed/events")
@signed_in
def feed_events_stream():
    """Server-sent events of my feed; `after` (or Last-Event-ID on a reconnect) resumes."""
    after = whole_number(request.headers.get("Last-Event-ID") or request.args.get("after"))
    try:
        body = EventStream(cafe().db, user(), after, stream_limit())
    except feed_events.TooManyStreams as err:
        return jsonify(error=err.detail), err.status, {"Retry-After": "10"}
    return Response(body, mimetype="text/event-stream", direct_passthrough=True,
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _card(session, item_id) -> dict:
    item = feed.get_item(session, user(), item_id)
    return feed.with_reactions(session, user(), [item])[0]


@bp.get("/feed/items/<item_id>")
@signed_in
def feed_item(item_id: str):
    """One item with its comments and likes; `partial=1` answers only its card (for the live feed)."""
    with cafe().db.read() as session:
        context = {"item": _card(session, item_id), "following": following(session)}
    if request.args.get("partial"):
        return render_template("web/feed/_item.html", **context)
    return render_template("web/feed/item.html", **context)


def _react(item_id: str, action, message: str):
    default = url_for("web.feed_item", item_id=item_id)
    try:
        with cafe().unit_of_work() as session:
            action(session)
    except ServiceError as err:
        return replies.refused(err, default)
    with cafe().db.read() as session:
        html = render_template("web/feed/_item.html", item=_card(session, item_id), following=following(session))
    return replies.done(message, default, html=html)


@bp.post("/feed/items/<item_id>/comments")
@signed_in
def feed_comment(item_id: str):
    text = request.form.get("text") or ""
    return _react(item_id, lambda s: feed.comment(s, user(), item_id, text), "Your comment was added.")


@bp.post("/feed/items/<item_id>/like")
@signed_in
def feed_like(item_id: str):
    return _react(item_id, lambda s: feed.like(s, user(), item_id), "You like this.")


@bp.post("/feed/items/<item_id>/unlike")
@signed_in
def feed_unlike(item_id: str):
    return _react(item_id, lambda s: feed.unlike(s, user(), item_id), "You no longer like this.")
