"""Where reviews get decided: votes, comments and likes arrive, `bpmn.reviews.decide` rules.

Signals come from the feed and the REST API (local users), and from replies, likes and polls on
the channels the review was posted to (read by the `social.poll` job). After each signal the
review is decided as soon as the outcome is certain; at the deadline it ends with no decision.
When its step ends any other way (it failed, a boundary event or the instance's end took the
process on, the instance was terminated) the review is `cancelled` (`close`): a vote then could
only decide something nobody waits for.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bpmn.reviews import Tally, Vote, decide
from connectors.base import ConnectorError, PostRef, RateLimited, Reaction

from .. import access
from ..access import Principal
from ..jobs.context import JobContext
from ..models import Channel, HistoryEvent, Job, ProcessInstance, Review, ReviewSignal, ServiceCall, SocialPost
from ..services import participants, service_calls
from ..services.errors import BadRequest, Conflict, Forbidden, NotFound
from ..services.store import InstanceStore
from . import feed
from .channels import connector_for
from .network_text import mended
from .rate_limits import believable_reset

SYNONYMS = {
    "approve": ("approve", "approved", "yes", "ok", "lgtm", "accept", "👍"),
    "reject": ("reject", "rejected", "no", "decline", "👎"),
}
POLL_INTERVALS = (30, 120, 600)  # seconds: poll often at first, then less
CANCELLED = "cancelled"


def review_for_task(session: Session, task_id: str) -> Review:
    call = session.scalars(select(ServiceCall).where(ServiceCall.task_id == task_id,
                                                     ServiceCall.operator == "social.collectReview")
                           .order_by(ServiceCall.created_at.desc())).first()
    review = session.scalars(select(Review).where(Review.call_id == call.id)).first() if call else None
    if review is None:
        raise NotFound(f"no review for task {task_id!r}")
    return review


def get(session: Session, review_id: str) -> Review:
    review = session.get(Review, review_id)
    if review is None:
        raise NotFound(f"no review {review_id!r}")
    return review


def get_visible(session: Session, principal: Principal, review_id: str) -> Review:
    """A review of an instance the caller may see. Otherwise the 404 names only the review: the
    instance's own 404 told anyone holding a review id which instance it belongs to."""
    review = session.get(Review, review_id)
    if review is None or not access.is_visible(session, principal, review.instance_id):
        raise NotFound(f"no review {review_id!r}")
    return review


def signals(session: Session, review: Review) -> list[ReviewSignal]:
    return list(session.scalars(select(ReviewSignal).where(ReviewSignal.review_id == review.id)
                                .order_by(ReviewSignal.at, ReviewSignal.id)))


def tally(session: Session, review: Review, rows: list[ReviewSignal] | None = None) -> Tally:
    rows = signals(session, review) if rows is None else rows
    votes = [Vote(s.author, s.option, s.at.timestamp()) for s in rows if s.kind == "vote" and s.option]
    return decide(votes, tuple(review.options), review.rule, review.quorum, tuple(review.reviewers))


def may_vote(review: Review, principal: Principal) -> bool:
    return access.may_vote(principal, review.reviewers or [])


def closed_reason(session: Session, review: Review) -> str | None:
    """Why a cancelled review takes no more votes (None for any other), read from its service call:
    `close` keeps no copy. Reviews left open by older versions whose step had ended were closed by
    migration 0010."""
    if review.status != CANCELLED:
        return None
    call = session.get(ServiceCall, review.call_id)
    if call is None:
        return "its step is gone"
    if call.status == "failed":
        return f"the step failed: {call.error_message}"
    return call.error_message or "its step ended without a decision"


def close(session: Session, call: ServiceCall, why: str) -> None:
    """The review's step ended without a decision (`why`): the review is cancelled and its poll and
    timeout jobs go, so no later vote, comment, like or reaction counts for it."""
    review = session.scalars(select(Review).where(Review.call_id == call.id)).first()
    if review is None or review.status != "open":
        return
    review.status, review.decided_at = CANCELLED, datetime.now(timezone.utc)
    session.execute(delete(Job).where(Job.instance_id == review.instance_id, Job.task_id == review.id,
                                      Job.kind.in_(("review.timeout", "social.poll")))
                    .execution_options(synchronize_session=False))


def add_signal(session: Session, store: InstanceStore, review: Review, principal: Principal, kind: str,
               option: str | None = None, text: str | None = None) -> ReviewSignal:
    """A vote, comment or like from a local user (feed, web, REST)."""
    closed = closed_reason(session, review)
    if closed is not None:
        raise Conflict(f"the review is {CANCELLED}: {closed}")
    if review.status != "open":
        raise Conflict(f"the review is {review.status}" + (f" ({review.decision})" if review.decision else ""))
    if kind == "vote":
        if option not in review.options:
            raise BadRequest(f"option {option!r} is not one of {', '.join(review.options)}")
        if not may_vote(review, principal):
            raise Forbidden(f"{principal.name} is not a reviewer of this review")
    elif kind == "comment" and not (text or "").strip():
        raise BadRequest("a comment needs text")
    if kind == "like":
        existing = session.scalars(select(ReviewSignal).where(
            ReviewSignal.review_id == review.id, ReviewSignal.kind == "like",
            ReviewSignal.author == principal.name)).first()
        if existing is not None:
            return existing
    signal = ReviewSignal(review_id=review.id, instance_id=review.instance_id, kind=kind, author=principal.name,
                          option=option, text=(text or "").strip() or None, source="feed")
    session.add(signal)
    session.add(HistoryEvent(instance_id=review.instance_id, kind=f"review_{kind}", bpmn_id=review.bpmn_id,
                             user=principal.name, data={"option": option} if option else None))
    participants.add_users_by_id(session, review.instance_id, principal.name)
    session.flush()
    if kind == "vote":
        settle(session, store, review)
    return signal


def settle(session: Session, store: InstanceStore, review: Review, timed_out: bool = False) -> bool:
    """Decide if certain (or end without a decision at the deadline); True when the step moved on."""
    rows = signals(session, review)
    result = tally(session, review, rows)
    if not result.decided and not timed_out:
        return False
    call = session.scalars(select(ServiceCall).where(ServiceCall.id == review.call_id)).first()
    review.status = "decided" if result.decided and not timed_out else "timed_out"
    review.decision = None if timed_out else result.decision
    review.decided_at = datetime.now(timezone.utc)
    session.execute(delete(Job).where(Job.kind.in_(("review.timeout", "social.poll")), Job.task_id == review.id)
                    .execution_options(synchronize_session=False))
    if call is not None and call.status == "pending":
        service_calls.finish(session, store, call, output(review, rows, result))
    return True


def output(review: Review, rows: list[ReviewSignal], result: Tally) -> dict:
    """The `review` variable a diagram reads after the step."""
    return {
        "decision": review.decision,
        "reason": "timed out" if review.status == "timed_out" else result.reason,
        "counts": result.counts,
        "votes": [{"voter": s.author, "option": s.option, "source": s.source} for s in rows if s.kind == "vote"],
        "comments": [{"author": s.author, "text": s.text, "source": s.source} for s in rows if s.kind == "comment"],
        "likes": sum(1 for s in rows if s.kind == "like"),
    }


def timeout_job(session: Session, store: InstanceStore, job: Job) -> None:
    session.delete(job)
    review = session.get(Review, job.payload.get("review_id"))
    if review is not None and review.status == "open":
        feed_decision = settle(session, store, review, timed_out=True)
        if feed_decision:
            instance = session.get(ProcessInstance, review.instance_id)
            feed.post_to_instance_streams(session, instance, "decision", "The review timed out without a decision")


# -- reading reactions on channels ------------------------------------------------------------------

def option_in(text: str, options: list[str]) -> str | None:
    """The option a reply chooses: its name or a synonym as a word (mentions stripped), if exactly one."""
    words = set(re.findall(r"[\w']+|👍|👎", re.sub(r"@\S+", " ", text or "").casefold()))
    chosen = {o for o in options if o.casefold() in words or words & set(SYNONYMS.get(o, ()))}
    return chosen.pop() if len(chosen) == 1 else None


def poll_job(ctx: JobContext, job_id: int) -> None:
    with ctx.db.read() as session:
        job = session.get(Job, job_id)
        post = session.get(SocialPost, job.payload.get("post_id")) if job else None
        review = session.scalars(select(Review).where(Review.call_id == post.call_id)).first() if post else None
        channel = session.scalars(select(Channel).where(Channel.name == post.channel)).first() if post else None
        if job is None or job.locked_by != ctx.worker_id:
            return
        cursor, ref = (post.reactions_cursor, PostRef(post.channel, post.remote_id or "", post.url,
                                                      dict(post.extra or {}))) if post else (None, None)
    if review is None or channel is None or review.status != "open":
        with ctx.db.transaction() as session:
            ctx.let_go(session, done=session.get(Job, job_id))
        return
    retry_at = None
    try:
        page = connector_for(channel, ctx.vault).fetch_reactions(ref, cursor)
    except RateLimited as err:  # a reset too far away to believe: poll again as usual
        page, retry_at = None, believable_reset(err.retry_at)
    except ConnectorError:
        page = None
    page = mended(page)  # no U+0000 or lone surrogates reach a text column or the `review` variable
    with ctx.db.transaction() as session:
        job = session.get(Job, job_id)
        review = session.get(Review, review.id)
        if page is not None:
            _record_reactions(session, review, post.channel, page.items + _poll_votes(review, page))
            row = session.get(SocialPost, post.id)
            row.reactions_cursor = page.cursor or row.reactions_cursor
        if review.status == "open" and not settle(session, ctx.store, review) and job is not None:
            step = min(job.attempts, len(POLL_INTERVALS) - 1)
            job.due_at = retry_at or datetime.now(timezone.utc) + timedelta(seconds=POLL_INTERVALS[step])
            job.locked_by = job.locked_until = None
        elif review.status != "open":  # decided here or before: this review's jobs are gone (settle)
            session.execute(delete(Job).where(Job.id == job_id).execution_options(synchronize_session=False))
        ctx.let_go(session)


def _record_reactions(session: Session, review: Review, channel: str, items: list[Reaction]) -> None:
    for reaction in items:
        remote_id = reaction.remote_id or f"{reaction.kind}:{reaction.author_id}:{reaction.option or ''}"
        seen = session.scalars(select(ReviewSignal.id).where(
            ReviewSignal.review_id == review.id, ReviewSignal.source == channel,
            ReviewSignal.remote_id == remote_id)).first()
        if seen is not None:
            continue
        author = f"{channel}:{reaction.author_id}"  # account ids, never handles: handles can be changed
        kind, option, text = _classify(review, reaction)
        session.add(ReviewSignal(review_id=review.id, instance_id=review.instance_id, kind=kind, author=author,
                                 option=option, text=text, source=channel, remote_id=remote_id,
                                 at=reaction.at or datetime.now(timezone.utc)))
        if kind == "vote" and reaction.kind == "reply" and text:
            session.add(ReviewSignal(review_id=review.id, instance_id=review.instance_id, kind="comment",
                                     author=author, text=text, source=channel, remote_id=remote_id + "#comment",
                                     at=reaction.at or datetime.now(timezone.utc)))
    session.flush()


def _poll_votes(review: Review, page) -> list[Reaction]:
    """Poll results are anonymous counts: they count as votes only when anyone may vote."""
    if page.poll is None or review.reviewers:
        return []
    return [Reaction(kind="vote", author_id=f"poll-{option}-{i}", remote_id=f"poll:{option}:{i}", option=option)
            for option, count in page.poll.counts.items() for i in range(count)]


def _classify(review: Review, reaction: Reaction) -> tuple[str, str | None, str | None]:
    if reaction.kind == "like":
        return "like", None, None
    if reaction.kind == "vote":
        return "vote", reaction.option if reaction.option in review.options else None, None
    chosen = option_in(reaction.text or reaction.emoji or "", list(review.options))
    if chosen is not None:
        return "vote", chosen, reaction.text
    return "comment", None, reaction.text or reaction.emoji
