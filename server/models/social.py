"""Channels, outgoing posts, reviews, media and the built-in feed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, new_id, utcnow


class Channel(Base):
    """A named account on a channel kind; diagrams name channels, never credentials."""

    __tablename__ = "channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    settings: Mapped[dict] = mapped_column(default=dict)
    credentials: Mapped[str | None] = mapped_column(Text)  # Fernet token of the JSON credentials
    allow_private: Mapped[bool] = mapped_column(default=False)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SocialPost(Base):
    """One post of one social step to one channel: the outbox row and, once sent, where it landed."""

    __tablename__ = "social_posts"
    __table_args__ = (Index("ix_social_posts_instance", "instance_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"))
    call_id: Mapped[str] = mapped_column(String(36), index=True)
    channel: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(255), unique=True)  # idempotency key
    text: Mapped[str] = mapped_column(Text)
    media_ids: Mapped[list] = mapped_column(default=list)
    poll_options: Mapped[list | None]
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending, sending, sent, failed
    remote_id: Mapped[str | None] = mapped_column(String(255))
    url: Mapped[str | None] = mapped_column(Text)
    extra: Mapped[dict] = mapped_column(default=dict)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    reactions_cursor: Mapped[str | None] = mapped_column(String(255))
    first_attempt_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Review(Base):
    """An open or decided social.collectReview step."""

    __tablename__ = "reviews"
    __table_args__ = (Index("ix_reviews_instance", "instance_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"))
    call_id: Mapped[str] = mapped_column(String(36), unique=True)
    bpmn_id: Mapped[str] = mapped_column(String(255))
    message: Mapped[str] = mapped_column(Text)
    media_ids: Mapped[list] = mapped_column(default=list)
    options: Mapped[list] = mapped_column(default=list)
    rule: Mapped[str] = mapped_column(String(16))
    quorum: Mapped[int] = mapped_column(Integer)
    reviewers: Mapped[list] = mapped_column(default=list)
    channels: Mapped[list] = mapped_column(default=list)
    deadline: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16), default="open")  # open, decided, timed_out, cancelled
    decision: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]


class ReviewSignal(Base):
    """A vote, comment or like on a review, from the feed, the API or a channel."""

    __tablename__ = "review_signals"
    __table_args__ = (
        Index("ix_review_signals_review", "review_id", "kind"),
        UniqueConstraint("review_id", "source", "remote_id", name="uq_review_signal_remote"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[str] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"))
    instance_id: Mapped[str] = mapped_column(String(36), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # vote, comment, like
    author: Mapped[str] = mapped_column(String(255))  # user name, or "<channel>:<account id>"
    option: Mapped[str | None] = mapped_column(String(120))
    text: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(64), default="feed")
    remote_id: Mapped[str | None] = mapped_column(String(255))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Media(Base):
    """A checked image, stored content-addressed; metadata such as GPS has been stripped.

    The same bytes sent twice (by two people, to two instances) are this one row, so the row says
    nothing about who sent it or where: `MediaInstance` and `MediaUploader` hold a link per
    attachment and per sender, and who may read the image follows them (server/access.py)."""

    __tablename__ = "media"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the stored bytes
    content_type: Mapped[str] = mapped_column(String(64))
    width: Mapped[int]
    height: Mapped[int]
    size: Mapped[int]
    filename: Mapped[str | None] = mapped_column(String(255))  # of the first upload
    thumbnail_type: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MediaInstance(Base):
    """An image attached to an instance (by its attachImage step): the instance's page lists it and
    whoever may see the instance may read it. One row per instance and image, kept until the
    instance goes; the primary key leads with `instance_id`, the distribution column."""

    __tablename__ = "media_instances"
    __table_args__ = (Index("ix_media_instances_media", "media_id", "instance_id"),)  # who may read it

    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"),
                                             primary_key=True)
    media_id: Mapped[str] = mapped_column(ForeignKey("media.id", ondelete="CASCADE"), primary_key=True)
    attached_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MediaUploader(Base):
    """A user who sent these bytes (an upload or an attachment): they may read the image, even when
    it is attached nowhere or only to instances they cannot see."""

    __tablename__ = "media_uploaders"

    media_id: Mapped[str] = mapped_column(ForeignKey("media.id", ondelete="CASCADE"), primary_key=True)
    username: Mapped[str] = mapped_column(String(120), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FeedItem(Base):
    """An entry in an activity stream ("instance:<id>", "definition:<key>", "user:<name>", "channel:<name>")."""

    __tablename__ = "feed_items"
    __table_args__ = (Index("ix_feed_items_stream", "stream", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stream: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(32))  # status, review, decision, image, comment
    actor: Mapped[str | None] = mapped_column(String(255))
    title: Mapped[str | None] = mapped_column(String(255))
    text: Mapped[str] = mapped_column(Text, default="")
    media_ids: Mapped[list] = mapped_column(default=list)
    link: Mapped[str | None] = mapped_column(Text)
    instance_id: Mapped[str | None] = mapped_column(String(36), index=True)
    review_id: Mapped[str | None] = mapped_column(String(36))
    public: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FeedReaction(Base):
    """A comment or like on a feed item."""

    __tablename__ = "feed_reactions"
    __table_args__ = (Index("ix_feed_reactions_item", "item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("feed_items.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # comment, like
    author: Mapped[str] = mapped_column(String(120))
    text: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Follow(Base):
    __tablename__ = "follows"
    __table_args__ = (Index("ix_follows_stream", "stream"),)

    username: Mapped[str] = mapped_column(String(120), primary_key=True)
    stream: Mapped[str] = mapped_column(String(255), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChannelWatch(Base):
    """A message start event bound to a channel's mentions or hashtag: each new post starts an instance."""

    __tablename__ = "channel_watches"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(64))
    message_name: Mapped[str] = mapped_column(String(255))
    hashtag: Mapped[str | None] = mapped_column(String(120))
    cursor: Mapped[str | None] = mapped_column(String(255))
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class InboundPost(Base):
    """A post already turned into an instance (each post starts at most one)."""

    __tablename__ = "inbound_posts"
    __table_args__ = (UniqueConstraint("watch_id", "remote_id", name="uq_inbound_post"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    watch_id: Mapped[int] = mapped_column(ForeignKey("channel_watches.id", ondelete="CASCADE"))
    remote_id: Mapped[str] = mapped_column(String(255))
    instance_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
