"""The rules for a set of process variables that a person or a client sends in: each name has 1 to
`MAX_NAME` characters, and the whole set is at most `max_variables_bytes()` of JSON
(`PROCESSCAFE_MAX_VARIABLES_BYTES`, 1 MiB by default). Whatever comes in there ends up in the
instance's state, which every later step loads, saves and copies into the history.

One module for the API's `Variables` field (server/api/fields.py) and the web's retry form
(server/web/instance_views.py), so the two cannot drift apart. What no JSON body may hold at all
(too deep a nesting, NaN, U+0000, ...) is checked before any view runs, by server/api/limits.py.
"""

from __future__ import annotations

import json

from flask import current_app, has_app_context

DEFAULT_MAX_BYTES = 1024 * 1024
MAX_NAME = 255  # characters of a variable name


def max_variables_bytes() -> int:
    cafe = current_app.extensions.get("processcafe") if has_app_context() else None
    return cafe.settings.max_variables_bytes if cafe else DEFAULT_MAX_BYTES


def json_size(value) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def problem(variables: dict) -> tuple[int, str] | None:
    """Why `variables` are refused, as (status, reason): 422 for a name, 413 for the size; None
    when they keep the rules."""
    for name in variables:
        if not 1 <= len(name) <= MAX_NAME:
            return 422, f"a variable name must have 1 to {MAX_NAME} characters, not {len(name)}"
    limit, size = max_variables_bytes(), json_size(variables)
    if size > limit:
        return 413, f"{size} bytes of JSON; the limit is {limit} bytes (PROCESSCAFE_MAX_VARIABLES_BYTES)"
    return None

