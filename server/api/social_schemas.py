"""Shapes of the social endpoints: channels, reviews, media."""

from __future__ import annotations

from marshmallow import fields, validate

from .schemas import Lenient, Strict


class ChannelSchema(Lenient):
    name = fields.String()
    kind = fields.String()
    settings = fields.Dict()
    allow_private = fields.Boolean()
    enabled = fields.Boolean()
    has_credentials = fields.Boolean()
    created_at = fields.DateTime(allow_none=True)


class ChannelList(Lenient):
    items = fields.List(fields.Nested(ChannelSchema))


class NewChannel(Strict):
    name = fields.String(required=True, validate=validate.Length(1, 64))
    kind = fields.String(required=True, validate=validate.Length(1, 32))
    settings = fields.Dict(keys=fields.String(), load_default=dict)
    credentials = fields.Dict(keys=fields.String(), load_default=None, allow_none=True, load_only=True)
    allow_private = fields.Boolean(load_default=False)


class ChannelPatch(Strict):
    settings = fields.Dict(keys=fields.String())
    credentials = fields.Dict(keys=fields.String(), load_only=True)
    allow_private = fields.Boolean()
    enabled = fields.Boolean()


class NewWatch(Strict):
    message = fields.String(required=True, validate=validate.Length(1, 255))
    hashtag = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=120))


class WatchSchema(Lenient):
    id = fields.Integer()
    channel = fields.String()
    message_name = fields.String()
    hashtag = fields.String(allow_none=True)


class SignalSchema(Lenient):
    id = fields.Integer()
    kind = fields.String()
    author = fields.String()
    option = fields.String(allow_none=True)
    text = fields.String(allow_none=True)
    source = fields.String()
    at = fields.DateTime()


class ReviewSchema(Lenient):
    id = fields.String()
    instance_id = fields.String()
    task_id = fields.String()
    bpmn_id = fields.String()
    message = fields.String()
    media_ids = fields.List(fields.String())
    options = fields.List(fields.String())
    rule = fields.String()
    quorum = fields.Integer()
    reviewers = fields.List(fields.String())
    channels = fields.List(fields.String())
    deadline = fields.DateTime(allow_none=True)
    status = fields.String()
    decision = fields.String(allow_none=True)
    counts = fields.Dict()
    reason = fields.String()
    likes = fields.Integer()
    signals = fields.List(fields.Nested(SignalSchema))
    posts = fields.List(fields.Dict())
    may_vote = fields.Boolean()


class VoteBody(Strict):
    option = fields.String(required=True, validate=validate.Length(1, 255))


class CommentBody(Strict):
    text = fields.String(required=True, validate=validate.Length(1, 5000))


class MediaSchema(Lenient):
    media_id = fields.String()
    url = fields.String()
    content_type = fields.String()
    width = fields.Integer()
    height = fields.Integer()
    size = fields.Integer()


class MediaQuery(Strict):
    thumbnail = fields.Boolean(load_default=False)
