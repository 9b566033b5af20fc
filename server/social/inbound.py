"""Social events start work: a message start event bound to a channel's mentions or hashtag.

The `social.inbound` job polls the channel; each new post starts one instance through the
message (text, author, URL and media ids as variables). A post is remembered (InboundPost)
in the same transaction as the instance it started, so it never starts two.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.base import ConnectorError, InboundPost, RateLimited
from connectors.media import ImageRejected

from ..jobs.context import JobContext
from ..models import Channel, ChannelWatch, Job
from ..models import InboundPost as SeenPost
from ..services import messages
from ..services.errors import NotFound, ServiceError
from .channels import connector_for
from .channels import get as get_channel
from .images import store_image
from .network_text import mended
from .rate_limits import believable_reset

log = logging.getLogger(__name__)
POLL_SECONDS = 60


def watch(session: Session, channel: str, message_name: str, hashtag: str | None = None) -> ChannelWatch:
    get_channel(session, channel)
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
    try:
        posts, cursor = mended(connector_for(channel, ctx.vault).inbound(row.cursor))  # storable text only
    except RateLimited as err:  # a reset too far away to believe: poll again as usual
        posts, cursor, retry_at = [], row.cursor, believable_reset(err.retry_at)
    except ConnectorError as err:
        log.warning("inbound poll of %s failed: %s", row.channel, err)
        posts, cursor = [], row.cursor
    with ctx.db.transaction() as session:
        watch_row = session.get(ChannelWatch, row.id)
        for post in posts:
            if _wanted(watch_row, post):
                _start_for(session, ctx, watch_row, post)
        watch_row.cursor = cursor
        job = session.get(Job, job_id)
        if job is not None:
            job.due_at = retry_at or datetime.now(timezone.utc) + timedelta(seconds=POLL_SECONDS)
            job.locked_by = job.locked_until = None
        ctx.let_go(session)


def _wanted(row: ChannelWatch, post: InboundPost) -> bool:
    return not row.hashtag or f"#{row.hashtag}" in (post.text or "").casefold()


def _start_for(session: Session, ctx: JobContext, row: ChannelWatch, post: InboundPost) -> None:
    seen = session.scalars(select(SeenPost.id).where(SeenPost.watch_id == row.id,
                                                     SeenPost.remote_id == post.remote_id)).first()
    if seen is not None:
        return
    media_ids = []
    for item in post.media:
        try:
            media_ids.append(store_image(session, ctx.media, item.content, item.filename, None).id)
        except (ImageRejected, ServiceError):
            continue
    variables = {"post_text": post.text, "post_author": post.author_id, "post_author_handle": post.author_handle,
                 "post_url": post.url, "post_media": media_ids, "post_channel": row.channel}
    try:
        deliveries = messages.correlate(session, ctx.store,
                                        messages.Correlation(name=row.message_name, variables=variables),
                                        f"{row.channel}:{post.author_id}")
    except NotFound:
        log.warning("no process starts with message %r (watch %s)", row.message_name, row.id)
        return
    session.add(SeenPost(watch_id=row.id, remote_id=post.remote_id,
                         instance_id=deliveries[0].instance.id if deliveries else None))
