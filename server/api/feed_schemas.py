"""Request and response shapes of the feed API (activity streams, reactions, follows)."""

from __future__ import annotations

from marshmallow import fields, validate

from .schemas import MAX_ID, Lenient, Strict

STREAM_HELP = "instance:<id>, definition:<key>, user:<name> or channel:<name>"


class FeedQuery(Strict):
    before = fields.Integer(validate=validate.Range(1, MAX_ID), metadata={
        "description": "only items older than this id: pass the last id of the previous page"})
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))


class EventsQuery(Strict):
    after = fields.Integer(validate=validate.Range(0, MAX_ID), metadata={
        "description": "replay the items after this id first (as the Last-Event-ID header does, which wins)"})


class ReactionSchema(Lenient):
    id = fields.Integer()
    item_id = fields.Integer()
    kind = fields.String()
    author = fields.String()
    text = fields.String(allow_none=True)
    created_at = fields.DateTime()


class FeedItemSchema(Lenient):
    id = fields.Integer()
    stream = fields.String(metadata={"description": STREAM_HELP})
    kind = fields.String(metadata={"description": "status, review, decision, image, comment, ..."})
    actor = fields.String(allow_none=True)
    title = fields.String(allow_none=True)
    text = fields.String()
    media_ids = fields.List(fields.String())
    link = fields.String(allow_none=True)
    instance_id = fields.String(allow_none=True)
    review_id = fields.String(allow_none=True)
    public = fields.Boolean()
    created_at = fields.DateTime()
    likes = fields.Integer()
    liked = fields.Boolean(metadata={"description": "whether the caller likes it"})
    comments = fields.List(fields.Nested(ReactionSchema))


class FeedPage(Lenient):
    items = fields.List(fields.Nested(FeedItemSchema))
    next_before = fields.Integer(allow_none=True, metadata={
        "description": "`before` for the next page; null on the last page"})


class NewComment(Strict):
    text = fields.String(required=True, validate=validate.Length(1, 20_000))


class FollowBody(Strict):
    stream = fields.String(required=True, validate=validate.Length(1, 255), metadata={"description": STREAM_HELP})


class FollowSchema(Lenient):
    stream = fields.String()
    created_at = fields.DateTime()


class FollowList(Lenient):
    items = fields.List(fields.Nested(FollowSchema))
