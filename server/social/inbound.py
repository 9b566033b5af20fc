"""Social events start work: a message start event bound to a channel's mentions or hashtag.

The `social.inbound` job polls the channel; each new post starts one instance through the
message (text, author, URL and media ids as variables). A post is remembered (InboundPost)
in the same transaction as the instance it started, so it never starts two.

A post's images are downloaded (by its connector, from the channel's media hosts) only when the
post is wanted and new, and downloaded and checked before that post's write transaction opens:
network waits and image decoding never hold the database. Each image is stored like an upload
(checked, metadata stripped) and attached to the started instance, so its people see it; one
that cannot be taken is named with the reason in `post_media_skipped`, and the post starts its
instance all the same.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.base import MENTIONS, Connector, ConnectorError, InboundPost, MediaRefused, MediaSource, RateLimited
from connectors.media import CheckedImage
from connectors.registry import connector_class

from ..jobs.context import JobContext
from ..models import Channel, ChannelWatch, Job
from ..models import InboundPost as SeenPost
from ..services import messages
from ..services.errors import BadRequest, Invalid, NotFound
from . import images
from .channels import connector_for
from .channels import get as get_channel
from .network_text import mended
from .rate_limits import believable_reset

log = logging.getLogger(__name__)
POLL_SECONDS = 60


def watch(session: Session, channel: str, message_name: str, hashtag: str | None = None) -> ChannelWatch:
    """Start instances through `message_name` for each new post that mentions the channel's account
    (or carries `hashtag`). A channel whose network brings no posts in (webhooks, email) is refused:
    the watch would be accepted and never start anything."""
    kind = get_channel(session, channel).kind
    if MENTIONS not in connector_class(kind).capabilities:
        raise BadRequest(f"channel {channel!r} is a {kind} channel, which brings in no posts: "
                         "watch a Mastodon, X or Matrix channel")
    row = ChannelWatch(channel=channel, message_name=message_name,
                       hashtag=(hashtag or "").lstrip("#").casefold() or None)
    session.add(row)
    session.flush()
    session.add(Job(kind="social.inbound", payload={"watch_id": row.id}))
    return row


def poll_job(ctx: JobContext, job_id: int) -> None:
    with ctx.db.read() as session:
        job = session.get(Job, job_id)
        row = session.get(ChannelWatch, job.payload.get("watch_id")) if job else None
        channel = session.scalars(select(Channel).where(Channel.name == row.channel)).first() if row else None
        if job is None or job.locked_by != ctx.worker_id:
            return
    if row is None or channel is None or not row.enabled:
        with ctx.db.transaction() as session:
            ctx.let_go(session, done=session.get(Job, job_id))
        return
    retry_at = None
    connector = connector_for(channel, ctx.vault)
    try:
        posts, cursor = mended(connector.inbound(row.cursor))  # storable text only
    except RateLimited as err:  # a reset too far away to believe: poll again as usual
        posts, cursor, retry_at = [], row.cursor, believable_reset(err.retry_at)
    except ConnectorError as err:
        log.warning("inbound poll of %s failed: %s", row.channel, err)
        posts, cursor = [], row.cursor
    for post in posts:  # one transaction per post: a post's images are in memory only while it starts
        if _wanted(row, post) and not _seen(ctx, row.id, post.remote_id):
            found = _images_of(ctx, connector, post)  # no transaction open while downloading and decoding
            with ctx.db.transaction() as session:
                watch_row = session.get(ChannelWatch, row.id)
                if watch_row is not None:
                    _start_for(session, ctx, watch_row, post, found)
    with ctx.db.transaction() as session:
        watch_row = session.get(ChannelWatch, row.id)
        if watch_row is not None:
            watch_row.cursor = cursor
        job = session.get(Job, job_id)
        if job is not None:
            job.due_at = retry_at or datetime.now(timezone.utc) + timedelta(seconds=POLL_SECONDS)
            job.locked_by = job.locked_until = None
        ctx.let_go(session)


def _wanted(row: ChannelWatch, post: InboundPost) -> bool:
    return not row.hashtag or f"#{row.hashtag}" in (post.text or "").casefold()


def _seen_query(watch_id: int, remote_id: str):
    return select(SeenPost.id).where(SeenPost.watch_id == watch_id, SeenPost.remote_id == remote_id)


def _seen(ctx: JobContext, watch_id: int, remote_id: str) -> bool:
    with ctx.db.read() as session:
        return session.scalars(_seen_query(watch_id, remote_id)).first() is not None


@dataclass
class PostImages:
    """A post's images, checked and cleaned, and those not taken: `{"source", "reason"}` each."""

    checked: list[CheckedImage] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)


def _images_of(ctx: JobContext, connector: Connector, post: InboundPost) -> PostImages:
    """Download the images the post names and check them like uploads; a refusal costs the post
    only that image."""
    found = PostImages(skipped=[{"source": s.source, "reason": s.reason} for s in post.media_skipped])
    files = [(item.filename, item) for item in post.media]
    for link in post.media_links:
        try:
            if not isinstance(connector, MediaSource):
                raise MediaRefused("this channel cannot download images")
            files.append((link.url, connector.fetch_media(link)))
        except MediaRefused as err:
            found.skipped.append({"source": link.url, "reason": str(err)})
    for source, item in files:
        try:
            found.checked.append(images.checked_image(ctx.media, item.content, item.filename))
        except Invalid as err:
            found.skipped.append({"source": source, "reason": err.detail})
    for skipped in found.skipped:
        log.info("inbound post %s: image %s not taken: %s", post.remote_id, skipped["source"], skipped["reason"])
    found.skipped = mended(found.skipped)  # reasons quote what servers answered
    return found


def _start_for(session: Session, ctx: JobContext, row: ChannelWatch, post: InboundPost, found: PostImages) -> None:
    if session.scalars(_seen_query(row.id, post.remote_id)).first() is not None:
        return
    media_ids = list(dict.fromkeys(checked.sha256 for checked in found.checked))  # a Media id is its hash
    variables = {"post_text": post.text, "post_author": post.author_id, "post_author_handle": post.author_handle,
                 "post_url": post.url, "post_media": media_ids, "post_media_skipped": found.skipped,
                 "post_channel": row.channel}
    try:
        deliveries = messages.correlate(session, ctx.store,
                                        messages.Correlation(name=row.message_name, variables=variables),
                                        f"{row.channel}:{post.author_id}")
    except NotFound:
        log.warning("no process starts with message %r (watch %s)", row.message_name, row.id)
        return
    stored = [images.store_checked(session, ctx.media, checked, None).id for checked in found.checked]
    for delivery in deliveries:  # the instance's people may read its images; its page lists them
        for media_id in dict.fromkeys(stored):
            images.link(session, media_id, instance_id=delivery.instance.id)
    session.add(SeenPost(watch_id=row.id, remote_id=post.remote_id,
                         instance_id=deliveries[0].instance.id if deliveries else None))
