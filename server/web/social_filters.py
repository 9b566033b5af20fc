"""Template helpers of the social pages: relative times ("in 58 minutes"), what a stream is called
and where it lives on the site, and the addresses of images and Atom feeds.

Kept apart from filters.py so the social pages can grow without touching the helpers every page
uses. Relative times are rendered on the server (the page reads right without JavaScript) and
kept current by the page scripts from the `datetime` attribute.
"""

from __future__ import annotations

from datetime import datetime, timezone

from flask import url_for

from .blueprint import bp

STREAM_KINDS = {"instance": "Instance", "definition": "Process", "user": "User", "channel": "Channel"}


def relative(value: datetime | None, now: datetime | None = None) -> str:
    """"in 5 minutes", "3 hours ago": how far a deadline or an item is from now, coarsely."""
    if value is None:
        return ""
    now = now or datetime.now(timezone.utc)
    seconds = (value - now).total_seconds()
    ahead, seconds = seconds > 0, abs(seconds)
    if seconds < 45:
        return "in a few seconds" if ahead else "just now"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size * 0.95 or unit == "minute":
            count = max(1, round(seconds / size))
            text = f"{count} {unit}{'' if count == 1 else 's'}"
            return f"in {text}" if ahead else f"{text} ago"
    return ""


def stream_label(stream: str, me: str | None = None) -> str:
    """"Instance 1a2b3c4d", "Process delivery_review", "You": a stream as people call it."""
    kind, _, name = (stream or "").partition(":")
    if kind == "user" and me and name == me:
        return "You"
    if kind == "instance":
        name = name[:8]
    return f"{STREAM_KINDS.get(kind, kind.title())} {name}"


def stream_url(stream: str) -> str | None:
    """The page about a stream's subject: the instance page, the process page, or the stream itself."""
    kind, _, name = (stream or "").partition(":")
    if kind == "instance":
        return url_for("web.instance_page", instance_id=name)
    if kind == "definition":
        return url_for("web.process_page", key=name)
    return url_for("web.stream_page", stream=stream)


def atom_url(stream: str) -> str:
    """GET /feeds/<stream>.atom (server/api/atom.py), which also accepts the browser session."""
    return url_for("atom.AtomFeed", stream=stream)


def media_url(media_id: str, thumbnail: bool = False) -> str:
    return url_for("web.media", media_id=media_id, thumbnail="true" if thumbnail else None)


bp.add_app_template_filter(relative, "relative")
bp.add_app_template_filter(stream_label, "stream_label")
bp.add_app_template_filter(stream_url, "stream_url")
bp.add_app_template_filter(atom_url, "atom_url")
bp.add_app_template_global(media_url, "media_url")
