"""How a web action answers: the page scripts send their forms with fetch/XMLHttpRequest and want
JSON (or an HTML fragment) to update the page in place; the same forms without JavaScript get a
redirect back with a flash message (post/redirect/get), so every action works both ways."""

from __future__ import annotations

from flask import flash, jsonify, redirect, request

from ..services.errors import ServiceError
from .guards import safe_next

SCRIPT_HEADER = "X-Requested-With"  # set by the page scripts (static/*.js) on every request they send


def from_script() -> bool:
    return bool(request.headers.get(SCRIPT_HEADER)) or request.accept_mimetypes.best == "application/json"


def back(default: str):
    """Back to where the form was (`next`, a path on this site), else `default`."""
    return redirect(safe_next(request.form.get("next") or request.args.get("next")) or default)


def done(message: str, default: str, **data):
    """A successful action: JSON for scripts, a flash and a redirect for plain forms."""
    if from_script():
        return jsonify(message=message, **data)
    flash(message, "info")
    return back(default)


def refused(err: ServiceError, default: str, prefix: str = ""):
    """A refused action: its status and the service's message, shown next to the control that
    sent it (scripts) or at the top of the page it came from (plain forms)."""
    message = f"{prefix}{err.detail}"
    if from_script():
        return jsonify(error=message), err.status
    flash(message, "error")
    return back(default)
