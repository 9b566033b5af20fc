"""What instance variables may hold: JSON, not nested too deep, no U+0000.

Shared by the request checks (server/api/limits.py) and the sandbox (what a script leaves): a
document nested a few hundred levels deep passes `json.dumps` but makes the instance's state fail
to load later, and PostgreSQL's text columns cannot take U+0000. Both walks are iterative, so any
depth is safe to walk.
"""

from __future__ import annotations

from typing import Any


def depth_exceeds(document: Any, limit: int) -> bool:
    """True if objects and arrays (lists, tuples) nest deeper than `limit`, the document itself
    being level 1."""
    stack = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if not isinstance(value, dict | list | tuple):
            continue
        if depth > limit:
            return True
        children = value.values() if isinstance(value, dict) else value
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list | tuple))
    return False


def holds_nul(document: Any) -> bool:
    """True if a string or a key anywhere in the document holds U+0000."""
    stack = [document]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return True
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list | tuple):
            stack.extend(value)
    return False
