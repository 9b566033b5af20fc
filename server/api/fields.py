"""Marshmallow fields shared by the request schemas.

`Variables` is the one field behind every body part that sets process variables (start,
complete, retry, messages, signals, PATCH variables, correlation keys). What it takes follows
server/variables_rules.py, which the web's retry form follows too: names of 1 to 255 characters
(a 422 naming the field) and at most `PROCESSCAFE_MAX_VARIABLES_BYTES` of JSON (1 MiB by default;
a 413 naming the field). The nesting depth is bounded for all JSON bodies by server/api/limits.py.
"""

from __future__ import annotations

from marshmallow import ValidationError, fields

from .. import variables_rules
from ..services.errors import TooLarge


class Variables(fields.Dict):
    """A JSON object of process variables keyed by name, as server/variables_rules.py allows."""

    def __init__(self, **kwargs):
        kwargs.setdefault("keys", fields.String())
        kwargs.setdefault("load_default", dict)
        kwargs.setdefault("metadata", {"description": "JSON object of variables (name: value)"})
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        result = super()._deserialize(value, attr, data, **kwargs)
        found = variables_rules.problem(result)
        if found is None:
            return result
        status, reason = found
        if status == TooLarge.status:
            name = attr or self.name or "variables"
            raise TooLarge(f"{name}: {reason}", errors={name: [reason]})
        raise ValidationError(reason)


class JsonBoolean(fields.Boolean):
    """A JSON `true` or `false`, nothing else. Marshmallow's Boolean also takes "yes", "on", 1 and
    "0", so a typo or a string where a flag was meant (`"all": "no"`) would pass, or even flip it."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value
