"""Reviews in the browser: a review's own page, the small JSON endpoint its page polls for the live
tally, and the vote, comment and like forms (session and CSRF token, like every web form).

The decision itself is server/social/reviews.py's (`add_signal` settles the review as soon as the
outcome is certain); these views only check that the person may see the review's instance, as
the REST API does, and render the result. The page polls rather than using the feed's event
stream because a review changes with votes and comments, which are not feed items.
"""

from __future__ import annotations

from flask import jsonify, render_template, request, url_for

from ..context import cafe
from ..models import Review
from ..services import instances
from ..services.errors import ServiceError
from ..social import reviews
from . import replies
from .blueprint import bp
from .guards import signed_in, user
from .social_steps import review_view

POLL_SECONDS = 2.5


def _visible(session, review_id: str) -> Review:
    return reviews.get_visible(session, user(), review_id)  # 404 for those who may not see it


def _live(session, review: Review) -> dict:
    rv = review_view(session, review, user())
    return {"digest": rv.digest, "status": review.status, "decision": review.decision,
            "counts": rv.counts, "html": render_template("web/reviews/_live.html", rv=rv)}


@bp.get("/reviews/<review_id>")
@signed_in
def review_page(review_id: str):
    """The review on its own: for people who may see the instance but have no task in it, and
    after the decision, when the task page is gone."""
    with cafe().db.read() as session:
        review = _visible(session, review_id)
        instance = instances.get_visible(session, user(), review.instance_id)
        rv = review_view(session, review, user())
        return render_template("web/reviews/page.html", rv=rv, instance=instance, poll_seconds=POLL_SECONDS)


@bp.get("/reviews/<review_id>/live.json")
@signed_in
def review_live(review_id: str):
    """What the review page polls: only the digest while nothing changed, else the new state with
    the tally, voters, comments and likes as HTML to swap in."""
    with cafe().db.read() as session:
        review = _visible(session, review_id)
        state = _live(session, review)
    if request.args.get("digest") == state["digest"]:
        return jsonify(digest=state["digest"], status=state["status"])
    return jsonify(state)


def _signal(review_id: str, kind: str, message: str, **values):
    default = url_for("web.review_page", review_id=review_id)
    try:
        with cafe().unit_of_work() as session:
            review = _visible(session, review_id)
            reviews.add_signal(session, cafe().store, review, user(), kind, **values)
            decided = review.status != "open"
    except ServiceError as err:
        return replies.refused(err, default)
    with cafe().db.read() as session:
        state = _live(session, reviews.get(session, review_id))
    if decided:
        message += f" The review is decided: {state['decision'] or 'no decision'}."
    return replies.done(message, default, **state)


@bp.post("/reviews/<review_id>/votes")
@signed_in
def review_vote(review_id: str):
    option = (request.form.get("option") or "").strip()
    return _signal(review_id, "vote", f"You voted “{option}”.", option=option)


@bp.post("/reviews/<review_id>/comments")
@signed_in
def review_comment(review_id: str):
    return _signal(review_id, "comment", "Your comment was added.", text=request.form.get("text") or "")


@bp.post("/reviews/<review_id>/likes")
@signed_in
def review_like(review_id: str):
    return _signal(review_id, "like", "You like this.")
