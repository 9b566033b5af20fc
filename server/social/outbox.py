"""Turning a social step into work: posts to send (one job each), a review, an image to wait for.

Runs inside the transaction that parked the step (through service_calls' dispatcher), so the
posts and their jobs exist exactly when the step does. Nothing here talks to a network.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bpmn.social import (
    ATTACH_IMAGE,
    COLLECT_REVIEW,
    PUBLISH_STATUS,
    InvalidSocialInput,
    as_list,
    channel_list,
    review_spec,
    shown,
    unfit_person,
    unique,
)

from ..models import Group, Job, Review, ServiceCall, SocialPost


def post_key(call_id: str, channel: str, purpose: str = "post") -> str:
    """Stable for the life of the step, so every retry of this post carries the same key."""
    return f"pc-{call_id}-{purpose}-{channel}"


def queue_post(session: Session, call: ServiceCall, channel: str, text: str, media_ids: list[str],
               poll_options: list[str] | None = None, purpose: str = "post") -> SocialPost:
    post = SocialPost(instance_id=call.instance_id, call_id=call.id, channel=channel,
                      key=post_key(call.id, channel, purpose), text=text, media_ids=list(media_ids),
                      poll_options=poll_options)
    session.add(post)
    session.flush()
    session.add(Job(instance_id=call.instance_id, kind="social.send", payload={"post_id": post.id}))
    return post


def unusable_channel(names: list[str]) -> str | None:
    """Why the step can never post to one of `names`, or None.

    A name longer than the column of a post's channel (which is as long as a channel's name may
    be) names no channel: it fails the step as an unknown channel does, at once and before any
    post is written, instead of PostgreSQL refusing the post (a 500) where SQLite stored it.
    """
    longest = SocialPost.__table__.c.channel.type.length
    for name in names:
        if len(name) > longest:
            return f"channel {shown(name)} is not configured (a channel name has at most {longest} characters)"
    return None


def queue_failure(session: Session, call: ServiceCall, message: str) -> None:
    """Inputs that cannot work fail the step, after this transaction (the instance is mid-save)."""
    session.add(Job(instance_id=call.instance_id, kind="social.fail",
                    payload={"call_id": call.id, "message": message}))


def expand_reviewers(session: Session, names: list[str]) -> list[str]:
    """Groups become their members (a snapshot), users stay users, `channel:account` stay as they
    are. A name that is both a group and a user is the group, as the step's candidates are
    (server/services/people_asked.py): a user named like a group does not vote in its place."""
    people: list[str] = []
    for name in names:
        if ":" in name:
            people.append(name)
            continue
        # told apart without regard to case, as access and votes are: "Team" asks group team
        group = session.scalars(select(Group).where(func.lower(Group.name) == name.lower())
                                .order_by(Group.name != name)).first()
        if group is not None:
            people.extend(member.username for member in group.members)
        else:
            people.append(name)  # a user, or one who does not exist yet and may still be created
    return unique(people, ignore_case=True)  # names are told apart without regard to case, as votes are


def _publish_status(session: Session, call: ServiceCall) -> None:
    params = call.params
    channels = channel_list(params.get("channels")) or ["feed"]
    message = str(params.get("message") or "")
    problem = unusable_channel(channels) or (None if message else "social.publishStatus needs a message")
    if problem:
        queue_failure(session, call, problem)
        return
    for channel in channels:
        queue_post(session, call, channel, message, as_list(params.get("media")))


def _collect_review(session: Session, call: ServiceCall) -> None:
    try:
        spec = review_spec(call.params)
    except InvalidSocialInput as err:
        queue_failure(session, call, str(err))
        return
    problem = unusable_channel(list(spec.channels))
    if problem:
        queue_failure(session, call, problem)
        return
    reviewers = expand_reviewers(session, list(spec.reviewers))
    if reviewers and spec.quorum > len(reviewers):
        queue_failure(session, call, f"quorum {spec.quorum} is more than the {len(reviewers)} reviewer(s) "
                                     f"({', '.join(reviewers)})")
        return
    now = datetime.now(timezone.utc)
    review = Review(instance_id=call.instance_id, call_id=call.id, bpmn_id=call.bpmn_id, message=spec.message,
                    media_ids=list(spec.media), options=list(spec.options), rule=spec.rule, quorum=spec.quorum,
                    reviewers=reviewers, channels=list(spec.channels),
                    deadline=now + spec.timeout if spec.timeout is not None else None)
    session.add(review)
    session.flush()
    for channel in spec.channels:
        queue_post(session, call, channel, spec.message, list(spec.media), list(spec.options), purpose="review")
    if review.deadline is not None:
        session.add(Job(instance_id=call.instance_id, kind="review.timeout", due_at=review.deadline,
                        task_id=review.id, payload={"review_id": review.id}))


def _attach_image(session: Session, call: ServiceCall) -> None:
    """Nothing to send yet: the step waits for an upload (API, web, or a reply carrying an image).
    An uploader no user or group can be, or a `share_to` name no channel can have, fails the step
    now, not the upload later."""
    problem = unfit_person(ATTACH_IMAGE, call.params) or unusable_channel(channel_list(call.params.get("share_to")))
    if problem:
        queue_failure(session, call, problem)


def dispatch(session: Session, call: ServiceCall) -> None:
    handler = {PUBLISH_STATUS: _publish_status, COLLECT_REVIEW: _collect_review,
               ATTACH_IMAGE: _attach_image}.get(call.operator)
    if handler is None:
        queue_failure(session, call, f"unknown social operator {call.operator!r}")
        return
    handler(session, call)

