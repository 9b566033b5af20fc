"""Who is signed in, for web views: pages send a signed-out browser to the sign-in page (and
back afterwards); the small JSON endpoints the pages poll answer 401 instead."""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlsplit

from flask import abort, g, jsonify, redirect, request, url_for

from ..access import Principal
from ..auth import session_principal

MAX_PAGE = 100_000  # a page number beyond any list; larger ones would overflow the database's integers


def whole_number(raw: str | None, limit: int = 2**62) -> int | None:
    """A number of 0 or more from a query parameter or header, or None: ASCII digits only ("²" is a
    digit to `str.isdigit`, not to `int`), at most `limit`."""
    if not raw or not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        return None
    number = int(raw)
    return number if number <= limit else None


def safe_next(target: str | None) -> str | None:
    """Only a path on this site may be a redirect target after sign-in (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


def signed_in(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        principal = session_principal()
        if principal is None:
            if request.accept_mimetypes.best == "application/json" or request.path.endswith(".json"):
                return jsonify(error="sign in first"), 401
            return redirect(url_for("web.login", next=request.full_path.rstrip("?")))
        g.user = principal
        return view(*args, **kwargs)

    return wrapper


def admins_only(view):
    @wraps(view)
    @signed_in
    def wrapper(*args, **kwargs):
        if not g.user.is_admin:
            abort(403, "only administrators may open this page")
        return view(*args, **kwargs)

    return wrapper


def user() -> Principal:
    return g.user
