"""What instance variables may hold: JSON, not nested too deep, no U+0000 or lone surrogates.

Shared by the request checks (server/api/limits.py) and the sandbox (what a script leaves): a
document nested a few hundred levels deep passes `json.dumps` but makes the instance's state fail
to load later, PostgreSQL's text columns cannot take U+0000, and no text column takes a lone
surrogate (it has no UTF-8 encoding). Both walks are iterative, so any depth is safe to walk.
"""

from __future__ import annotations

import re
from typing import Any

_UNSTORABLE = re.compile("[\\x00\\ud800-\\udfff]")


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


def unstorable_character(document: Any) -> str | None:
    """The first character that text columns cannot store (U+0000: PostgreSQL refuses it; a lone
    surrogate, U+D800 to U+DFFF: no UTF-8 encoding exists), anywhere in a string or key, as
    `U+XXXX`; None when there is none."""
    stack = [document]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            found = _UNSTORABLE.search(value) if _may_hold_any(value) else None
            if found:
                return f"U+{ord(found.group()):04X}"
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list | tuple):
            stack.extend(value)
    return None


def mend_text(text: str) -> str:
    """`text` with the characters text columns cannot store replaced by U+FFFD."""
    return _UNSTORABLE.sub("\ufffd", text) if _may_hold_any(text) else text


def _may_hold_any(text: str) -> bool:
    """A quick test in C before the regular expression: most text is ASCII without NUL."""
    return "\x00" in text or not text.isascii()
