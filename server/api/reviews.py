from __future__ import annotations

from flask.views import MethodView
from sqlalchemy import select

from ..access import Principal
from ..auth import current_principal
from ..context import cafe
from ..models import Review, ServiceCall, SocialPost
from ..services import instances
from ..social import reviews
from .blueprint import Blueprint
from .schemas import NoFields
from .social_schemas import CommentBody, ReviewSchema, SignalSchema, VoteBody

blp = Blueprint("reviews", __name__, url_prefix="/api/v1", description="Reviews: votes, comments and likes.")


def review_dict(session, review: Review, principal: Principal) -> dict:
    rows = reviews.signals(session, review)
    tally = reviews.tally(session, review, rows)
    call = session.get(ServiceCall, review.call_id)
    posts = session.scalars(select(SocialPost).where(SocialPost.call_id == review.call_id)).all()
    return {
        "id": review.id, "instance_id": review.instance_id, "task_id": call.task_id if call else None,
        "bpmn_id": review.bpmn_id, "message": review.message, "media_ids": review.media_ids,
        "options": review.options, "rule": review.rule, "quorum": review.quorum, "reviewers": review.reviewers,
        "channels": review.channels, "deadline": review.deadline, "status": review.status,
        "decision": review.decision, "counts": tally.counts,
        "reason": reviews.closed_reason(session, review) or tally.reason,  # a cancelled review says why
        "likes": sum(1 for s in rows if s.kind == "like"), "signals": rows,
        "posts": [{"channel": p.channel, "status": p.status, "url": p.url} for p in posts],
        "may_vote": review.status == "open" and reviews.may_vote(review, principal),
    }


def _visible(session, principal: Principal, review: Review) -> Review:
    instances.get_visible(session, principal, review.instance_id)
    return review


@blp.route("/reviews/<review_id>")
class OneReview(MethodView):
    @blp.response(200, ReviewSchema)
    def get(self, review_id):
        """The review with its live tally, who voted what, comments and likes, and the deadline."""
        principal = current_principal()
        with cafe().db.read() as session:
            return review_dict(session, reviews.get_visible(session, principal, review_id), principal)


@blp.route("/tasks/<task_id>/review")
class TaskReview(MethodView):
    @blp.response(200, ReviewSchema)
    def get(self, task_id):
        """The review a social.collectReview task collects."""
        principal = current_principal()
        with cafe().db.read() as session:
            review = _visible(session, principal, reviews.review_for_task(session, task_id))
            return review_dict(session, review, principal)


def _signal(review_id: str, kind: str, **values):
    principal = current_principal()
    with cafe().unit_of_work() as session:
        review = reviews.get_visible(session, principal, review_id)
        return reviews.add_signal(session, cafe().store, review, principal, kind, **values)


@blp.route("/reviews/<review_id>/votes")
class Votes(MethodView):
    @blp.arguments(VoteBody)
    @blp.response(201, SignalSchema)
    def post(self, body, review_id):
        """Vote for an option; your latest vote counts. The review is decided as soon as it is certain."""
        return _signal(review_id, "vote", option=body["option"])


@blp.route("/reviews/<review_id>/comments")
class Comments(MethodView):
    @blp.arguments(CommentBody)
    @blp.response(201, SignalSchema)
    def post(self, body, review_id):
        return _signal(review_id, "comment", text=body["text"])


@blp.route("/reviews/<review_id>/likes")
class Likes(MethodView):
    @blp.arguments(NoFields, required=False)  # no body, an empty one or `{}`: all a like needs
    @blp.response(201, SignalSchema)
    def post(self, body, review_id):
        """Like the review (once per person). The body holds no fields; any field is a 422 naming it."""
        return _signal(review_id, "like")
