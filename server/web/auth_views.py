"""Signing in and out of the web pages with the same users (and passwords) as the API."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_limiter.errors import RateLimitExceeded

from ..auth import end_session, session_principal, start_session
from ..context import cafe
from ..services import identity
from .blueprint import bp
from .guards import safe_next

WRONG_PASSWORD = "Wrong user name or password."
TOO_MANY = "Too many failed sign-in attempts. Wait a minute, then try again."


def _page(status: int = 200, error: str | None = None, username: str = ""):
    return render_template("web/login.html", error=error, username=username,
                           next=safe_next(request.values.get("next")) or ""), status


@bp.route("/login", methods=["GET", "POST"])
def login():
    """A failed attempt answers 401, which is what the rate limits count (security.py)."""
    if request.method == "GET":
        if session_principal() is not None:
            return redirect(safe_next(request.args.get("next")) or url_for("web.tasks"))
        return _page()
    username = (request.form.get("username") or "").strip()
    password = request.form.get("password") or ""
    if not username or not password:
        return _page(401, "Enter your user name and password.", username)
    with cafe().db.read() as session:
        user = identity.check_password(session, username, password)
    if user is None:
        return _page(401, WRONG_PASSWORD, username)
    start_session(user)
    flash(f"Signed in as {user.username}.", "info")
    return redirect(safe_next(request.form.get("next")) or url_for("web.tasks"))


@bp.errorhandler(RateLimitExceeded)
def _too_many(err: RateLimitExceeded):
    body, status = _page(429, TOO_MANY, (request.form.get("username") or "").strip())
    return body, status, {"Retry-After": "60"}


@bp.post("/logout")
def logout():
    end_session()
    flash("You have signed out.", "info")
    return redirect(url_for("web.login"))
