"""Template helpers: dates people can read, JSON they can read, and who is signed in."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from markupsafe import Markup, escape

from ..auth import session_principal
from .blueprint import bp


def when(value: datetime | None) -> str:
    if value is None:
        return ""
    value = value.astimezone(timezone.utc)
    return value.strftime("%d %b %Y, %H:%M UTC")


def iso(value: datetime | None) -> str:
    return value.astimezone(timezone.utc).isoformat() if value else ""


def pretty_json(value) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


def short_id(value: str | None) -> str:
    return (value or "")[:8]


def html_attrs(attrs: dict) -> Markup:
    """HTML attributes from a dict: True as a bare attribute (`required`), False/None left out."""
    parts = []
    for name, value in attrs.items():
        if value is True:
            parts.append(str(escape(name)))
        elif value not in (False, None):
            parts.append(f'{escape(name)}="{escape(value)}"')
    return Markup(" ".join(parts))


bp.add_app_template_filter(html_attrs, "html_attrs")
bp.add_app_template_filter(when, "when")
bp.add_app_template_filter(iso, "iso")
bp.add_app_template_filter(pretty_json, "pretty_json")
bp.add_app_template_filter(short_id, "short_id")


@bp.context_processor
def _signed_in_user() -> dict:
    return {"current_user": session_principal()}
