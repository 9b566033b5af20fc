"""Text from the networks, made storable before anything keeps it.

Replies, handles, ids, poll options and cursors arrive from servers we do not control. A U+0000
in any of them made PostgreSQL refuse the whole INSERT (so the `social.poll` job failed for good
and no reaction of that page ever counted), while SQLite stored it and passed it on into process
variables; a lone surrogate has no UTF-8 form at all. Every value a connector hands back goes
through `mended` once, where it enters the server, so no code further on has to remember it.
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass, replace
from typing import TypeVar

from bpmn.json_values import mend_text

T = TypeVar("T")


def mended(value: T) -> T:
    """`value` with U+0000 and lone surrogates replaced by U+FFFD in every string it holds: the
    fields of the connectors' dataclasses, list and tuple items, dict keys and values. Bytes (an
    image's content) and other values are kept as they are."""
    if isinstance(value, str):
        return mend_text(value)
    if is_dataclass(value) and not isinstance(value, type):
        return replace(value, **{f.name: mended(getattr(value, f.name)) for f in fields(value) if f.init})
    if isinstance(value, list):
        return [mended(item) for item in value]
    if isinstance(value, tuple):
        return tuple(mended(item) for item in value)
    if isinstance(value, dict):
        return {mended(key): mended(item) for key, item in value.items()}
    return value
