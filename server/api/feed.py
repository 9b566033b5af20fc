"""The feed API: my feed, one stream, comments, likes, follows, and live updates (server-sent events)."""

from __future__ import annotations

from flask import Response, request
from flask.views import MethodView

from ..auth import current_principal
from ..context import cafe
from ..problems import problem
from ..services.errors import BadRequest
from ..social import feed, feed_events
from .blueprint import Blueprint
from .feed_schemas import (
    EventsQuery,
    FeedItemSchema,
    FeedPage,
    FeedQuery,
    FollowBody,
    FollowList,
    FollowSchema,
    NewComment,
    ReactionSchema,
)
from .feed_stream import EventStream, followed, stream_limit
from .schemas import NoFields

blp = Blueprint("feed", __name__, url_prefix="/api/v1",
                description="The built-in feed: activity streams of instances, definitions, users and "
                            "channels; follows, comments, likes, and live updates.")


def _page(session, principal, items, limit) -> dict:
    return {"items": feed.with_reactions(session, principal, items),
            "next_before": items[-1].id if len(items) == limit else None}


def _item(session, principal, item) -> dict:
    return feed.with_reactions(session, principal, [item])[0]


@blp.route("/feed")
class MyFeed(MethodView):
    @blp.arguments(FeedQuery, location="query")
    @blp.response(200, FeedPage)
    def get(self, query):
        """My feed: the streams I follow and my own user stream, newest first."""
        principal = current_principal()
        with cafe().db.read() as session:
            items = feed.my_feed(session, principal, query.get("before"), query["limit"])
            return _page(session, principal, items, query["limit"])


@blp.route("/streams/<stream>")
class Stream(MethodView):
    @blp.arguments(FeedQuery, location="query")
    @blp.response(200, FeedPage)
    def get(self, query, stream):
        """The items of one stream, newest first; 404 for a stream the caller may not read."""
        principal = current_principal()
        with cafe().db.read() as session:
            items = feed.stream_items(session, principal, stream, query.get("before"), query["limit"])
            return _page(session, principal, items, query["limit"])


@blp.route("/feed/items/<item_id>")
class Item(MethodView):
    @blp.response(200, FeedItemSchema)
    def get(self, item_id):
        """One item with its likes and comments."""
        principal = current_principal()
        with cafe().db.read() as session:
            return _item(session, principal, feed.get_item(session, principal, item_id))


@blp.route("/feed/items/<item_id>/comments")
class Comments(MethodView):
    @blp.arguments(NewComment)
    @blp.response(201, ReactionSchema)
    def post(self, body, item_id):
        """Comment on an item one may read."""
        principal = current_principal()
        with cafe().unit_of_work() as session:
            return feed.reaction_dict(feed.comment(session, principal, item_id, body["text"]))


@blp.route("/feed/items/<item_id>/like")
class Like(MethodView):
    @blp.arguments(NoFields, required=False)
    @blp.response(200, FeedItemSchema)
    def post(self, _body, item_id):
        """Like an item; one like per user, so liking again changes nothing."""
        principal = current_principal()
        with cafe().unit_of_work() as session:
            return _item(session, principal, feed.like(session, principal, item_id))

    @blp.response(200, FeedItemSchema)
    def delete(self, item_id):
        """Take one's like back."""
        principal = current_principal()
        with cafe().unit_of_work() as session:
            return _item(session, principal, feed.unlike(session, principal, item_id))


@blp.route("/follows")
class Follows(MethodView):
    @blp.response(200, FollowList)
    def get(self):
        """The streams I follow."""
        principal = current_principal()
        with cafe().db.read() as session:
            return {"items": [{"stream": f.stream, "created_at": f.created_at}
                              for f in feed.follows(session, principal)]}

    @blp.arguments(FollowBody)
    @blp.response(201, FollowSchema)
    def post(self, body):
        """Follow a stream I may read (404 otherwise, or when its channel, user or instance does not
        exist); following twice is the same as once."""
        principal = current_principal()
        with cafe().unit_of_work() as session:
            row = feed.follow(session, principal, body["stream"])
            result = {"stream": row.stream, "created_at": row.created_at}
        _follows_changed(principal)
        return result

    @blp.arguments(FollowBody)
    @blp.response(204)
    def delete(self, body):
        """Stop following a stream (nothing happens if I did not follow it)."""
        principal = current_principal()
        with cafe().unit_of_work() as session:
            feed.unfollow(session, principal, body["stream"])
        _follows_changed(principal)


def _follows_changed(principal) -> None:
    db = cafe().db
    feed_events.broker_for(db).follows_changed(principal.name, lambda: followed(db, principal))


@blp.route("/feed/events")
class Events(MethodView):
    @blp.arguments(EventsQuery, location="query")
    @blp.doc(responses={"200": {
        "description": "text/event-stream: `event: item` with the item as JSON in `data` and its id in "
                       "`id`; `: keep-alive` comments every 15 s. Reconnect with Last-Event-ID to resume.",
        "content": {"text/event-stream": {"schema": {"type": "string"}}}}})
    def get(self, query):
        """Live updates of my feed as server-sent events."""
        principal = current_principal()
        after = query.get("after")
        if request.headers.get("Last-Event-ID"):
            try:
                after = int(request.headers["Last-Event-ID"])
            except ValueError:
                raise BadRequest("Last-Event-ID must be an item id") from None
            if not 0 <= after < 2**63:  # beyond what the database's integers hold
                raise BadRequest("Last-Event-ID must be an item id")
        try:
            body = EventStream(cafe().db, principal, after, stream_limit())
        except feed_events.TooManyStreams as err:
            return problem(err.status, err.title, err.detail, headers={"Retry-After": "10"})
        return Response(body, mimetype="text/event-stream", direct_passthrough=True, headers={
            "Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

