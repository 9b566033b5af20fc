"""Marshmallow fields shared by the request schemas.

`Variables` is the one field behind every body part that sets process variables (start,
complete, retry, messages, signals, PATCH variables, correlation keys): whatever a client sends
there ends up in the instance's state, which every later step loads, saves and copies into the
history, so its size is bounded once here (`PROCESSCAFE_MAX_VARIABLES_BYTES`, 1 MiB by default)
rather than in each view. A body part over the limit is answered 413, naming the field; the
nesting depth is bounded for all JSON bodies by server/api/limits.py.
"""

from __future__ import annotations

import json

from flask import current_app, has_app_context
from marshmallow import fields, validate

from ..services.errors import TooLarge

DEFAULT_MAX_BYTES = 1024 * 1024
MAX_NAME = 255  # characters of a variable name


def max_variables_bytes() -> int:
    cafe = current_app.extensions.get("processcafe") if has_app_context() else None
    return cafe.settings.max_variables_bytes if cafe else DEFAULT_MAX_BYTES


def json_size(value) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


class Variables(fields.Dict):
    """A JSON object of process variables keyed by name; at most `max_variables_bytes()` of JSON."""

    def __init__(self, **kwargs):
        kwargs.setdefault("keys", fields.String(validate=validate.Length(1, MAX_NAME)))
        kwargs.setdefault("load_default", dict)
        kwargs.setdefault("metadata", {"description": "JSON object of variables (name: value)"})
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        result = super()._deserialize(value, attr, data, **kwargs)
        limit, size = max_variables_bytes(), json_size(result)
        if size > limit:
            name = attr or self.name or "variables"
            reason = f"{size} bytes of JSON; the limit is {limit} bytes (PROCESSCAFE_MAX_VARIABLES_BYTES)"
            raise TooLarge(f"{name}: {reason}", errors={name: [reason]})
        return result


class JsonBoolean(fields.Boolean):
    """A JSON `true` or `false`, nothing else. Marshmallow's Boolean also takes "yes", "on", 1 and
    "0", so a typo or a string where a flag was meant (`"all": "no"`) would pass, or even flip it."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value
