"""Streams in the browser: following and unfollowing (from the instance, process and stream pages
and from feed items), a process's page with its stream, and any one stream.

Who may read (and so follow) which stream is server/social/feed.py's rule; a stream one may not
read answers 404 here as in the API.
"""

from __future__ import annotations

from flask import render_template, request, url_for

from ..context import cafe
from ..services import catalog
from ..services.errors import ServiceError
from ..social import feed
from . import replies
from .blueprint import bp
from .feed_views import PAGE_SIZE, following, follows_changed
from .guards import signed_in, user, whole_number
from .social_filters import stream_label


def _stream_arg() -> str:
    return (request.form.get("stream") or "").strip()


@bp.post("/follows")
@signed_in
def follow():
    stream = _stream_arg()
    try:
        with cafe().unit_of_work() as session:
            feed.follow(session, user(), stream)
    except ServiceError as err:
        return replies.refused(err, url_for("web.feed"), prefix="Not followed: ")
    follows_changed()
    return replies.done(f"You follow {stream_label(stream, user().name)}: its news appear in your feed.",
                        url_for("web.feed"), stream=stream, following=True)


@bp.post("/follows/remove")
@signed_in
def unfollow():
    stream = _stream_arg()
    try:
        with cafe().unit_of_work() as session:
            feed.unfollow(session, user(), stream)
    except ServiceError as err:
        return replies.refused(err, url_for("web.feed"))
    follows_changed()
    return replies.done(f"You no longer follow {stream_label(stream, user().name)}.", url_for("web.feed"),
                        stream=stream, following=False)


def _stream_page(stream: str, title: str, **extra):
    before = request.args.get("before") or ""
    with cafe().db.read() as session:
        items = feed.stream_items(session, user(), stream, whole_number(before), PAGE_SIZE)
        context = {"items": feed.with_reactions(session, user(), items), "following": following(session)}
    return render_template("web/feed/stream.html", stream=stream, title=title,
                           older=items[-1].id if len(items) == PAGE_SIZE else None, **context, **extra)


@bp.get("/streams/<stream>")
@signed_in
def stream_page(stream: str):
    """One stream's items, newest first, with its follow button and Atom feed."""
    return _stream_page(stream, stream_label(stream, user().name))


@bp.get("/processes/<key>")
@signed_in
def process_page(key: str):
    """A process (all versions of a definition key): its news, its instances, follow it."""
    with cafe().db.read() as session:
        name = dict(catalog.definition_keys(session)).get(key)
    return _stream_page(f"definition:{key}", name or key, process_key=key, deployed=name is not None)
