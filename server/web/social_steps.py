"""The social steps on the task page: what the review and upload partials show, read from the
social services (server/social/reviews.py, images.py) and registered with web/steps.py.

A review is shown the same way on its task page and on its own page (/reviews/<id>, which stays
after the task is gone, so a decided review can still be read): both render `ReviewView`. Its
`digest` changes with every vote, comment or like, so the page's poll sends the fresh tally only
when something happened.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from flask import url_for
from sqlalchemy.orm import Session

from bpmn.reviews import Vote, effective_votes
from bpmn.social import ATTACH_IMAGE, COLLECT_REVIEW, people_asked

from .. import access
from ..access import Principal
from ..context import cafe
from ..models import Review, ReviewSignal
from ..services.errors import NotFound
from ..social import images, reviews
from . import steps

REVIEW_STEP = "web/tasks/steps/review.html"
UPLOAD_STEP = "web/tasks/steps/upload.html"
MAX_NAMES = 8  # reviewers or uploaders named in an explanation


@dataclass
class ReviewView:
    review: Review
    counts: dict[str, int]
    reason: str
    votes: list[tuple[str, str]]  # (voter, option) as counted: each voter's latest vote
    comments: list[ReviewSignal]
    likes: int
    liked: bool
    my_vote: str | None
    may_vote: bool
    why_not: str | None  # why this person's vote buttons are disabled
    digest: str

    @property
    def is_open(self) -> bool:
        return self.review.status == "open"


def names(people: list[str]) -> str:
    shown = ", ".join(people[:MAX_NAMES])
    return shown + (f" and {len(people) - MAX_NAMES} more" if len(people) > MAX_NAMES else "")


def review_view(session: Session, review: Review, principal: Principal) -> ReviewView:
    rows = reviews.signals(session, review)
    result = reviews.tally(session, review, rows)
    cast = [Vote(s.author, s.option, s.at.timestamp()) for s in rows if s.kind == "vote" and s.option]
    counted = effective_votes(cast, tuple(review.options), tuple(review.reviewers))
    mine = [v.option for v in counted if v.voter.casefold() == principal.name.casefold()]
    may_vote = review.status == "open" and reviews.may_vote(review, principal)
    why_not = None
    if review.status != "open":
        why_not = "Voting has ended: " + ("the review is decided." if review.status == "decided"
                                          else "the review timed out." if review.status == "timed_out"
                                          else f"the review is {review.status}: "
                                               f"{reviews.closed_reason(session, review)}.")
    elif not may_vote:
        why_not = f"Only the reviewers can vote: {names(list(review.reviewers))}. You can comment and like."
    fingerprint = f"{review.status}|{review.decision}|{[s.id for s in rows]}"
    return ReviewView(
        review=review, counts=result.counts, reason=result.reason, votes=[(v.voter, v.option) for v in counted],
        comments=[s for s in rows if s.kind == "comment"], likes=sum(1 for s in rows if s.kind == "like"),
        liked=any(s.kind == "like" and s.author == principal.name for s in rows),
        my_vote=mine[-1] if mine else None, may_vote=may_vote, why_not=why_not,
        digest=hashlib.sha1(fingerprint.encode()).hexdigest()[:16])


@dataclass
class UploadView:
    caption: str
    asked: list[str]
    may_upload: bool
    max_bytes: int  # the server's upload limit: the page refuses larger files before sending them


def _review_context(session: Session, page, principal: Principal) -> dict:
    try:
        review = reviews.review_for_task(session, page.task.id)
    except NotFound:
        return {"rv": None}
    return {"rv": review_view(session, review, principal)}


def _upload_context(session: Session, page, principal: Principal) -> dict:
    try:
        call = images.pending_call(session, page.task.id)
    except NotFound:
        return {"upload": None}
    asked = people_asked(ATTACH_IMAGE, call.params)
    return {"upload": UploadView(caption=str(call.params.get("caption") or ""), asked=asked,
                                 may_upload=images.may_upload(call, principal),
                                 max_bytes=cafe().settings.max_upload_bytes)}


def finished_step_url(session: Session, principal: Principal, task_id: str) -> str | None:
    """Where a task id leads once its step is over: a review keeps its page (with the outcome)."""
    try:
        review = reviews.review_for_task(session, task_id)
    except NotFound:
        return None
    if not access.is_visible(session, principal, review.instance_id):
        return None
    return url_for("web.review_page", review_id=review.id)


steps.register("review", lambda task: task.type == COLLECT_REVIEW, REVIEW_STEP, _review_context)
steps.register("upload", lambda task: task.type == ATTACH_IMAGE, UPLOAD_STEP, _upload_context)
