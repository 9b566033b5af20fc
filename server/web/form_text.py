"""Form fields holding a character that no text column can store (U+0000, a lone surrogate).

The input check that runs before every view (server/api/limits.py) refuses such a form with a
bare 422 page, and everything typed into the form is lost. A view marked `@keeps_odd_text` gets
the form with those characters shown as U+FFFD instead, and `odd_text()` naming each field that
held one, so it can refuse the form with its own message and draw it again as typed.

The swap happens in a URL value preprocessor, which Flask runs before any `before_request`
function, so the input check then sees only text it can store.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, g, request
from werkzeug.datastructures import ImmutableMultiDict

from bpmn.json_values import mend_text, unstorable_character

from .blueprint import bp

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


@dataclass(frozen=True)
class OddText:
    character: str  # "U+0000"
    sent: str  # the field's value as it was sent


def keeps_odd_text(view):
    """Mark a view that handles `odd_text()` itself (put it above the other decorators)."""
    view.keeps_odd_text = True
    return view


def odd_text() -> dict[str, OddText]:
    """The form fields of this request that held an unstorable character, by field name."""
    return g.get("odd_text") or {}


@bp.url_value_preprocessor
def _set_odd_text_aside(endpoint: str | None, values: dict | None) -> None:
    view = current_app.view_functions.get(endpoint or "")
    if request.method != "POST" or not getattr(view, "keeps_odd_text", False) or request.mimetype not in FORM_TYPES:
        return
    odd = {}
    for name, value in request.form.items(multi=True):
        character = unstorable_character(value)
        if character is not None and name not in odd:
            odd[name] = OddText(character, value)
    if odd:
        g.odd_text = odd
        request.form = ImmutableMultiDict([(name, mend_text(value)) for name, value in request.form.items(multi=True)])
