"""Sending one post: the `social.send` job.

Exactly-once as far as the network allows:
1. a short transaction marks the post `sending` (with the time of the first attempt) and commits;
2. the network call runs with no transaction and no lock held;
3. a second transaction records where the post landed and moves the step on.
A worker that dies between 2 and 3 leaves the post `sending`; the job's lease expires and the
next attempt knows the outcome is unknown. Networks with idempotency keys (Mastodon, Matrix) get
the same key again and answer with the existing post; the others are looked up first (X) so the
post is not repeated. Rate limits reschedule the job at the network's reset time (one too far
away to believe counts as a transient failure, see rate_limits.py); transient failures back off
with jitter; nothing sleeps in a worker. A success without the post's id is no success.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from requests.exceptions import InvalidURL
from sqlalchemy import select
from sqlalchemy.orm import Session

from bpmn.social import COLLECT_REVIEW, FAILED_ERROR_CODE, PUBLISH_STATUS
from connectors.base import (
    NATIVE_IDEMPOTENCY,
    AuthFailed,
    Connector,
    MediaFile,
    Poll,
    Post,
    PostRef,
    RateLimited,
    Rejected,
    Transient,
)

from ..jobs.context import JobContext
from ..models import Channel, Job, Media, ProcessInstance, Review, ServiceCall, SocialPost
from ..services import service_calls
from . import feed
from .channels import FEED, connector_for
from .credentials import CredentialsUnreadable
from .network_text import mended
from .rate_limits import believable_reset

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BACKOFF_BASE, BACKOFF_CAP = 5.0, 15 * 60.0
POLL_SECONDS = 60  # default seconds of a review poll shown as a network poll


@dataclass
class _Attempt:
    post_id: str
    channel: Channel | None
    post: Post
    unknown_outcome: bool  # an earlier attempt may have gone out
    first_attempt_at: datetime
    attempts: int


def backoff(attempts: int) -> timedelta:
    """Full jitter: anywhere up to base * 2^attempts, capped."""
    return timedelta(seconds=random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2 ** attempts)))


def send_job(ctx: JobContext, job_id: int) -> None:
    attempt = _begin(ctx, job_id)
    if attempt is None:
        return
    if attempt.channel is None:  # the built-in feed: no network, one transaction
        with ctx.db.transaction() as session:
            _post_to_feed(session, ctx, attempt, job_id)
        return
    try:
        ref = _publish(connector_for(attempt.channel, ctx.vault), attempt)
    except RateLimited as err:
        until = believable_reset(err.retry_at)
        if until is not None:
            _reschedule(ctx, job_id, attempt.post_id, until, f"rate limited until {until.isoformat()}",
                        definitely_not_sent=True)
        else:  # waiting until then would park the step for ever: the attempt counts instead
            _retry_later(ctx, job_id, attempt, f"rate limited until {err.retry_at.isoformat()}, too far away to "
                                               "wait for", definitely_not_sent=True)
        return
    except Transient as err:
        _retry_later(ctx, job_id, attempt, str(err))
        return
    except (Rejected, AuthFailed, CredentialsUnreadable, InvalidURL, KeyError, ValueError) as err:
        _give_up(ctx, job_id, attempt.post_id, f"{attempt.channel.name}: {type(err).__name__}: {err}")
        return
    with ctx.db.transaction() as session:
        _sent(session, ctx, job_id, attempt.post_id, ref)


def _retry_later(ctx: JobContext, job_id: int, attempt: _Attempt, reason: str,
                 definitely_not_sent: bool = False) -> None:
    """Back off with jitter; after the last attempt the step fails."""
    if attempt.attempts >= MAX_ATTEMPTS:
        _give_up(ctx, job_id, attempt.post_id, f"{attempt.channel.name}: {reason} (after {attempt.attempts} tries)")
    else:
        _reschedule(ctx, job_id, attempt.post_id, datetime.now(timezone.utc) + backoff(attempt.attempts), reason,
                    definitely_not_sent)


def _begin(ctx: JobContext, job_id: int) -> _Attempt | None:
    now = datetime.now(timezone.utc)
    with ctx.db.transaction() as session:
        job = session.get(Job, job_id)
        if job is None or job.locked_by != ctx.worker_id:
            return None
        row = session.get(SocialPost, job.payload.get("post_id"))
        if row is None or row.status in ("sent", "failed"):
            ctx.let_go(session, done=job)
            return None
        call = session.get(ServiceCall, row.call_id)
        if row.status == "pending" and call is not None and call.status in ("failed", "cancelled"):
            # the step ended first (another channel refused its post, the process went on): a post
            # now would ask people about, or report, something the process has left behind
            row.status, row.last_error = "failed", f"not sent: its step had {call.status} first"
            ctx.let_go(session, done=job)
            return None
        channel = None
        if row.channel != FEED:
            channel = session.scalars(select(Channel).where(Channel.name == row.channel)).first()
            if channel is None or not channel.enabled:
                reason = "is not configured" if channel is None else "is disabled"
                _fail_step(session, ctx, job, row, f"channel {row.channel!r} {reason}")
                return None
            session.expunge(channel)
        files, missing = _media_files(session, ctx, row.media_ids)
        if missing:
            _fail_step(session, ctx, job, row, missing)
            return None
        unknown = row.status == "sending"
        row.status = "sending"
        row.attempts += 1
        row.first_attempt_at = row.first_attempt_at or now
        post = Post(key=row.key, text=row.text, media=files,
                    poll=Poll(tuple(row.poll_options), POLL_SECONDS * 60) if row.poll_options and channel else None,
                    link=f"{ctx.public_url}/instances/{row.instance_id}")
        return _Attempt(row.id, channel, post, unknown, row.first_attempt_at, row.attempts)


def _media_files(session: Session, ctx: JobContext, media_ids: list[str]) -> tuple[tuple[MediaFile, ...], str | None]:
    """The post's images, or why it cannot carry them: a media id no image has (a slip in the
    diagram, a variable holding something else) or one whose file is gone from the store. The
    step then fails naming it, before anything goes out: a post sent without its image would
    report success for something the process did not ask for."""
    files, problems = [], []
    for media_id in media_ids or []:
        media = session.get(Media, media_id)
        content = ctx.media.get(media_id) if media else None
        shown = repr(media_id if len(media_id) <= 80 else media_id[:80] + "...")
        if media is None:
            problems.append(f"media {shown} does not exist")
        elif content is None:
            problems.append(f"the file of media {shown} is missing")
        else:
            files.append(MediaFile(content, media.content_type, media.filename or f"{media_id}.img"))
    return tuple(files), "; ".join(problems) or None


def _publish(connector: Connector, attempt: _Attempt) -> PostRef:
    if attempt.unknown_outcome and NATIVE_IDEMPOTENCY not in connector.capabilities:
        found = connector.find_published(attempt.post, attempt.first_attempt_at - timedelta(seconds=5))
        if found is not None:
            log.info("post %s had gone out before the last attempt ended; not sending it again", attempt.post_id)
            return _landed(found)
    post = attempt.post
    if post.poll and post.media:  # networks take either a poll or images; the images matter more
        post = Post(post.key, post.text, post.media, None, post.reply_to, post.link)
    return _landed(connector.publish(post))


def _landed(ref: PostRef) -> PostRef:
    """Where the post landed, as it may be stored. An answer without an id is no success: the post
    would count as sent with no id to read its reactions by. It is a transient failure instead,
    whose retry carries the same key or looks for the post first, so nothing goes out twice."""
    if not isinstance(ref.remote_id, str) or not ref.remote_id.strip():
        raise Transient(f"{ref.channel} answered without the post's id")
    return mended(ref)


def _post_to_feed(session: Session, ctx: JobContext, attempt: _Attempt, job_id: int) -> None:
    row = session.get(SocialPost, attempt.post_id)
    instance = session.get(ProcessInstance, row.instance_id)
    call = session.get(ServiceCall, row.call_id)
    kind = "review" if call is not None and call.operator == COLLECT_REVIEW else "status"
    # a review's item names its review, so readers of the feed find where to vote
    review = session.scalars(select(Review.id).where(Review.call_id == call.id)).first() if kind == "review" else None
    items = feed.post_to_instance_streams(session, instance, kind, row.text, media_ids=row.media_ids,
                                          link=attempt.post.link, review_id=review)
    item = items[0]
    _sent(session, ctx, job_id, attempt.post_id,
          PostRef(FEED, str(item.id), f"{ctx.public_url}/feed/items/{item.id}"))


def _sent(session: Session, ctx: JobContext, job_id: int, post_id: str, ref: PostRef) -> None:
    row = session.get(SocialPost, post_id)
    row.status, row.remote_id, row.url = "sent", ref.remote_id, ref.url
    row.extra = dict(ref.extra)
    row.sent_at = datetime.now(timezone.utc)
    ctx.let_go(session, done=session.get(Job, job_id))
    call = session.get(ServiceCall, row.call_id)
    if call is None or call.status != "pending":
        return
    if call.operator == COLLECT_REVIEW:
        review = session.scalars(select(Review).where(Review.call_id == call.id)).first()
        if row.channel != FEED and review is not None:
            session.add(Job(instance_id=row.instance_id, kind="social.poll", task_id=review.id,
                            payload={"post_id": row.id}, due_at=datetime.now(timezone.utc) + timedelta(seconds=30)))
        return
    posts = session.scalars(select(SocialPost).where(SocialPost.call_id == call.id)).all()
    if call.operator == PUBLISH_STATUS and all(p.status == "sent" for p in posts):
        result = {p.channel: {"id": p.remote_id, "url": p.url} for p in posts}
        service_calls.finish(session, ctx.store, call, result)


def _reschedule(ctx: JobContext, job_id: int, post_id: str, when: datetime, reason: str,
                definitely_not_sent: bool = False) -> None:
    with ctx.db.transaction() as session:
        job = session.get(Job, job_id)
        row = session.get(SocialPost, post_id)
        if job is None or row is None:
            return
        job.due_at, job.locked_by, job.locked_until = when, None, None
        job.last_error = reason
        ctx.let_go(session)
        row.last_error = reason
        if definitely_not_sent:
            row.status = "pending"


def _give_up(ctx: JobContext, job_id: int, post_id: str, reason: str) -> None:
    with ctx.db.transaction() as session:
        job = session.get(Job, job_id)
        row = session.get(SocialPost, post_id)
        if row is not None:
            _fail_step(session, ctx, job, row, reason)


def _fail_step(session: Session, ctx: JobContext, job: Job | None, row: SocialPost, reason: str) -> None:
    """The post cannot go out: the step throws `social.failed` (an error boundary event may catch it)."""
    log.warning("social post %s failed: %s", row.id, reason)
    row.status, row.last_error = "failed", reason
    ctx.let_go(session, done=job)
    call = session.get(ServiceCall, row.call_id)
    if call is not None and call.status == "pending":
        service_calls.fail(session, ctx.store, call, FAILED_ERROR_CODE, reason)
