"""The feed page: a placeholder that the social task types fill in.

The social engineer replaces the body of `web/feed.html` (block `feed`) with the live stream:
a session-authenticated route here serving the feed's server-sent events
(server/api/feed_stream.py: `EventStream(db, principal, after)`), and posts, comments, likes and
follows. The route, the menu entry and the page frame exist already.
"""

from __future__ import annotations

from flask import render_template

from .blueprint import bp
from .guards import signed_in


@bp.get("/feed")
@signed_in
def feed():
    return render_template("web/feed.html")
