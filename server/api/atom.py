"""GET /feeds/<stream>.atom: each activity stream as an Atom feed for feed readers.

Anyone may read the public items of definition and channel streams, so status reaches people
without an account. Everything else needs a signed-in caller: a bearer token or Basic
credentials (what feed readers can send), or the web session of a browser (a GET that changes
nothing, so the session is safe to accept here). A wrong Authorization header is refused
rather than silently treated as anonymous, so a misconfigured reader notices.
"""

from __future__ import annotations

from flask import Response, request
from flask.views import MethodView
from werkzeug.exceptions import Unauthorized

from ..auth import authenticate, session_principal
from ..context import cafe
from ..social import atom, feed
from .blueprint import Blueprint

ITEMS = 50

blp = Blueprint("atom", __name__, url_prefix="/feeds",
                description="Activity streams as Atom feeds; public items of definition and channel streams "
                            "without signing in.")


@blp.route("/<stream>.atom")
class AtomFeed(MethodView):
    @blp.doc(security=[{}, {"bearer": []}, {"basic": []}], responses={"200": {
        "description": "An Atom 1.0 feed of the stream's newest items.",
        "content": {atom.ATOM_TYPE: {"schema": {"type": "string"}}}}})
    def get(self, stream):
        """The newest items of a stream as Atom; anonymous readers get the public items."""
        principal = authenticate()
        if principal is None:
            if request.headers.get("Authorization"):
                raise Unauthorized("the credentials were not accepted")
            principal = session_principal()
        feed.parse_stream(stream)
        if principal is None and not feed.is_open(stream):
            raise Unauthorized("sign in to read this stream: send a bearer token or basic credentials")
        settings = cafe().settings
        with cafe().db.read() as session:
            items = feed.stream_items(session, principal, stream, limit=ITEMS)
            body = atom.atom_document(stream, items, settings.public_url, request.base_url)
        response = Response(body, mimetype=atom.ATOM_TYPE)
        response.headers["Cache-Control"] = "private, no-cache" if principal else "public, max-age=60"
        response.headers["Vary"] = "Authorization, Cookie"
        response.add_etag()
        return response.make_conditional(request)
