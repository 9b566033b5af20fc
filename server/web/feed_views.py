"""The feed page: a placeholder that the social task types fill in.

The social engineer replaces the body of `web/feed.html` (block `feed`) with the live stream
(server-sent events from their feed endpoint), posts, comments, likes and follows. The route,
the navigation entry and the page frame are here already, so nothing else needs to change.
"""

from __future__ import annotations

from flask import render_template

from .blueprint import bp
from .guards import signed_in


@bp.get("/feed")
@signed_in
def feed():
    return render_template("web/feed.html")
